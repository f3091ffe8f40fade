import { describe, expect, it } from "vitest";
import { duplicateKeys, parseJson, parseJsonSliced } from "@/lib/data/json";

describe("parseJson", () => {
  it("reads what JSON.parse reads", () => {
    const value = { a: [1, -2.5e-3, true, false, null], "ü λ": { nested: "tab\there \u2603 \\ \" /" }, e: {}, f: [] };
    const text = JSON.stringify(value, null, 2);
    expect(parseJson({ text })).toMatchObject({ ok: true, value });
    expect(parseJson({ text: "\uFEFF" + text })).toMatchObject({ ok: true, value });
  });

  it("names each object's duplicated keys, keeping the last value as JSON.parse would", () => {
    const result = parseJson({ text: '{"a": 1, "b": {"x": 1, "x": 2, "x": 3}, "a": 2, "__proto__": {"p": 1}}' });
    if (!result.ok) throw new Error(result.error);
    const value = result.value as { a: number; b: object };
    expect(duplicateKeys(result, value)).toEqual(["a"]);
    expect(duplicateKeys(result, value.b)).toEqual(["x"]);
    expect(value.a).toBe(2);
    // "__proto__" is an ordinary key, never the object's prototype.
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["a", "b", "__proto__"]);
  });

  it("reads Python's NaN and Infinity only when lenient", () => {
    expect(parseJson({ text: "[NaN, Infinity, -Infinity]", lenient: true })).toMatchObject({ ok: true, value: [NaN, Infinity, -Infinity] });
    expect(parseJson({ text: "[NaN]" })).toEqual({ ok: false, error: "unexpected character at line 1, column 2" });
  });

  it.each([
    ["", "the file is empty"],
    ["  \n", "the file is empty"],
    ['{"secret": "hunter2"', "the text ends early"],
    ['{"a": 1,}', "expected a string at line 1, column 9"],
    ["[1 2]", "expected a comma or a closing bracket at line 1, column 4"],
    ['{\n  "a" 1}', "expected a colon at line 2, column 7"],
    ["01", "unexpected text after the value at line 1, column 2"],
    ['"a\u0001"', "unescaped control character in a string at line 1, column 3"],
    ['"\\x"', "bad escape in a string at line 1, column 2"],
    ["root:x:0:0:hunter2", "unexpected character at line 1, column 1"],
  ])("says where %j stops parsing, never what is there", (text, error) => {
    expect(parseJson({ text })).toEqual({ ok: false, error });
  });

  it("takes any nesting depth without recursion, in slices", async () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    expect(parseJson({ text: deep }).ok).toBe(true);
    const big = JSON.stringify(Array.from({ length: 100_000 }, (_, i) => ({ step: i, loss: 1 / (i + 1) })));
    let yielded = 0;
    const timer = setInterval(() => yielded++, 0);
    const result = await parseJsonSliced({ text: big });
    clearInterval(timer);
    expect(result.ok && (result.value as unknown[]).length).toBe(100_000);
    expect(yielded).toBeGreaterThan(0);
  });
});
