import "server-only";
import { slicer } from "@/lib/slices";

// JSON as the data dir's files need it, which JSON.parse cannot give:
// - a duplicated key is reported (JSON.parse lets the last one win silently), so the object it
//   is in can be treated as broken;
// - `lenient` reads Python's NaN, Infinity and -Infinity (json.dumps writes them for a diverged
//   loss) as those numbers;
// - errors say where, never what: the text may be a file nobody should see quoted;
// - no recursion (any nesting depth), and parseJsonSliced gives the event loop back every few
//   milliseconds, so a 64 MiB document never blocks a request.

export type JsonResult =
  | { ok: true; value: unknown; duplicates: WeakMap<object, string[]> }
  | { ok: false; error: string };

type Frame = { container: Record<string, unknown> | unknown[]; key: string };

// Values parsed between checks whether the event loop is due back.
const SLICE_VALUES = 4096;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LENIENT_WORDS: [string, number][] = [
  ["NaN", NaN],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
];
const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

class JsonError extends Error {}

export function parseJson({ text, lenient = false }: { text: string; lenient?: boolean }): JsonResult {
  const steps = parseSteps(text, lenient);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

// parseJson in slices of a few milliseconds, yielding to the event loop between them.
export async function parseJsonSliced({ text, lenient = false }: { text: string; lenient?: boolean }): Promise<JsonResult> {
  const steps = parseSteps(text, lenient);
  const pause = slicer();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await pause();
  }
}

// The keys of `object` that occurred more than once in its text.
export function duplicateKeys(result: Extract<JsonResult, { ok: true }>, object: unknown): string[] {
  return typeof object === "object" && object !== null ? (result.duplicates.get(object) ?? []) : [];
}

function* parseSteps(text: string, lenient: boolean): Generator<void, JsonResult> {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (!text.slice(start).trim()) return { ok: false, error: "the file is empty" };
  try {
    return { ok: true, ...(yield* parseValue(text, start, lenient)) };
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    return { ok: false, error: error.message };
  }
}

function* parseValue(text: string, start: number, lenient: boolean): Generator<void, { value: unknown; duplicates: WeakMap<object, string[]> }> {
  const duplicates = new WeakMap<object, string[]>();
  const stack: Frame[] = [];
  const length = text.length;
  let i = start;
  let budget = SLICE_VALUES;

  const fail = (what: string, at: number): never => {
    if (at >= length) throw new JsonError("the text ends early");
    let line = 1;
    let lineStart = 0;
    for (let nl = text.indexOf("\n"); nl !== -1 && nl < at; nl = text.indexOf("\n", nl + 1)) {
      line++;
      lineStart = nl + 1;
    }
    throw new JsonError(`${what} at line ${line}, column ${at - lineStart + 1}`);
  };
  const skipSpace = () => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++i));
  };
  const readString = (): string => {
    if (text.charCodeAt(i) !== 0x22) fail("expected a string", i);
    let out = "";
    let from = ++i;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(from, i++);
        return out;
      }
      if (c === 0x5c) {
        out += text.slice(from, i);
        const escape = text[i + 1];
        if (escape === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else if (escape !== undefined && escape in ESCAPES) {
          out += ESCAPES[escape];
          i += 2;
        } else fail("bad escape in a string", i);
        from = i;
      } else if (c < 0x20 || Number.isNaN(c)) fail("unescaped control character in a string", i);
      else i++;
    }
  };
  const readKey = (): string => {
    skipSpace();
    const key = readString();
    skipSpace();
    if (text.charCodeAt(i++) !== 0x3a) fail("expected a colon", i - 1);
    return key;
  };
  const readScalar = (): unknown => {
    const c = text.charCodeAt(i);
    if (c === 0x22) return readString();
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return value;
      }
    }
    if (lenient) {
      for (const [word, value] of LENIENT_WORDS) {
        if (text.startsWith(word, i)) {
          i += word.length;
          return value;
        }
      }
    }
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (!match) return fail("unexpected character", i);
    i += match[0].length;
    return Number(match[0]);
  };

  for (;;) {
    let value: unknown;
    skipSpace();
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      const array = c === 0x5b;
      i++;
      skipSpace();
      const container: Frame["container"] = array ? [] : {};
      if (text.charCodeAt(i) === (array ? 0x5d : 0x7d)) {
        i++;
        value = container;
      } else {
        stack.push({ container, key: array ? "" : readKey() });
        continue;
      }
    } else value = readScalar();

    // Attach the value to its container, closing every container that ends after it.
    for (;;) {
      const top = stack.at(-1);
      if (!top) {
        skipSpace();
        if (i < length) fail("unexpected text after the value", i);
        return { value, duplicates };
      }
      if (Array.isArray(top.container)) top.container.push(value);
      else setKey(top.container, top.key, value, duplicates);
      skipSpace();
      const d = text.charCodeAt(i++);
      if (d === 0x2c) {
        if (!Array.isArray(top.container)) top.key = readKey();
        break;
      }
      if (d !== (Array.isArray(top.container) ? 0x5d : 0x7d)) fail("expected a comma or a closing bracket", i - 1);
      stack.pop();
      value = top.container;
    }
    if (--budget === 0) {
      budget = SLICE_VALUES;
      yield;
    }
  }
}

function setKey(object: Record<string, unknown>, key: string, value: unknown, duplicates: WeakMap<object, string[]>) {
  if (Object.hasOwn(object, key)) {
    const seen = duplicates.get(object);
    if (seen) seen.includes(key) || seen.push(key);
    else duplicates.set(object, [key]);
  }
  // Assigning "__proto__" would set the prototype instead of a key.
  if (key === "__proto__") Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}
