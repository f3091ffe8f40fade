import { describe, expect, it } from "vitest";
import { GET as stream } from "@/app/api/stream/route";
import { POST } from "@/app/api/update-status/route";
import { listenerCount, publishEvent } from "@/lib/events";
import { call, makeDataDir, postJson } from "../helpers";

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (!pattern.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  return text;
}

describe("GET /api/stream", () => {
  it("sends a status event for a posted change and drops the client when it leaves", async () => {
    makeDataDir({ models: [{ key: "alpha", name: "Alpha" }] });
    const abort = new AbortController();
    const res = await call(stream, { init: { signal: abort.signal } });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const reader = res.body!.getReader();
    expect(await readUntil(reader, /connected/)).toBe(": connected\n\n");
    expect(listenerCount()).toBe(1);

    await call(POST, { init: postJson({ model_key: "alpha", status: "running", progress: 5 }) });
    const text = await readUntil(reader, /\n\n$/);
    const [event, data] = text.trim().split("\n");
    expect(event).toBe("event: status");
    expect(JSON.parse(data.replace(/^data: /, ""))).toMatchObject({ key: "alpha", status: "running", progress: 5 });

    abort.abort();
    expect(listenerCount()).toBe(0);
    publishEvent({ type: "status", data: JSON.parse(data.replace(/^data: /, "")) }); // nobody left to write to
  });
});
