import "server-only";

// Helpers for reading answers from the HTTP sources (dcgm-exporter, vast.ai) and alert receivers.

// Reads a body up to maxBytes; a longer one is cancelled and rejected.
export async function readCapped({ res, maxBytes }: { res: Response; maxBytes: number }): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new Error(`answer over ${maxBytes / 1024 / 1024} MiB`);
    }
    text += decoder.decode(value, { stream: true });
  }
}

export function describeFetchError({ err, timeoutMs }: { err: unknown; timeoutMs: number }): string {
  if (err instanceof DOMException && err.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (typeof cause?.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}

// Retry-After is delay-seconds or an HTTP date (RFC 9110 10.2.3); anything else is no advice.
export function parseRetryAfter({ value, now = Date.now() }: { value: string | null; now?: number }): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP date form names the weekday; without a letter, Date.parse would take "-3" as a year.
  const at = /[a-z]/i.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
