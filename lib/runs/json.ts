import "server-only";

// Python's json.dumps writes NaN and ±Infinity as bare words (a diverged loss does this), which
// JSON.parse rejects. Those words outside strings become null; undefined if still not JSON.
export function parseJsonLenient({ text }: { text: string }): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const cleaned = text.replace(/"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g, (m) => (m.startsWith('"') ? m : "null"));
    try {
      return JSON.parse(cleaned);
    } catch {
      return undefined;
    }
  }
}
