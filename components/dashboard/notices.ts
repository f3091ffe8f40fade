import { formatMinutes } from "@/components/format";
import type { ModelStatus } from "@/lib/schemas/api";

// What the notice banner says and what a dismissal remembers. Pure, for the banner and its tests.

export type Notice = { id: string; text: string };

// Problems in afs.config.json reach the banner; the footer lists the other data warnings.
export const isConfigWarning = (warning: string) => warning.startsWith("afs.config.json:");

// A notice's id is what a dismissal is keyed by: a config problem's text, or a stalled model's key
// with the start of its stall, so the ticking minutes keep it dismissed and a new stall brings it back.
export function buildNotices({ warnings, models, now }: { warnings: string[]; models: ModelStatus[]; now: number }): Notice[] {
  const config = [...new Set(warnings.filter(isConfigWarning))].map((text) => ({ id: `config:${text}`, text }));
  const stalled = models.flatMap((m) =>
    m.stalled_since === null ? [] : [{ id: `stalled:${m.key}:${m.stalled_since}`, text: `${m.name} stalled for ${formatMinutes(now - Date.parse(m.stalled_since))}` }],
  );
  return [...config, ...stalled];
}

// The stored dismissals: a JSON array of ids. Anything else (hand-edited, another version) is none.
export function parseDismissed(stored: string): Set<string> {
  try {
    const ids: unknown = JSON.parse(stored);
    return new Set(Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : []);
  } catch {
    return new Set();
  }
}

// The dismissals after dismissing `id`. Ids of notices that are gone are dropped, so the list
// stays as short as the banner.
export function addDismissed(stored: string, id: string, current: Notice[]): string {
  const shown = new Set(current.map((n) => n.id));
  const kept = [...parseDismissed(stored)].filter((d) => shown.has(d) && d !== id);
  return JSON.stringify([...kept, id]);
}
