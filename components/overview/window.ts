import type { ModelStatus } from "@/lib/schemas/api";

// Pure helpers of the overview's model table: the filter and the window of rows it renders.

// The models whose name, key or status contains `query` (any case); all of them for a blank one.
export function filterModels(models: ModelStatus[], query: string): ModelStatus[] {
  const q = query.trim().toLowerCase();
  if (!q) return models;
  return models.filter((m) => m.name.toLowerCase().includes(q) || m.key.includes(q) || m.status.includes(q));
}

// The rows [first, last) to render of `count` rows when `topRow` is the first one scrolled into a
// viewport of `viewportRows` rows, with `overscan` rows more on each side so a short scroll
// shows rows already drawn.
export function visibleRows({
  count,
  topRow,
  viewportRows,
  overscan,
}: {
  count: number;
  topRow: number;
  viewportRows: number;
  overscan: number;
}): { first: number; last: number } {
  const top = Math.min(Math.max(0, topRow), Math.max(0, count - viewportRows));
  return { first: Math.max(0, top - overscan), last: Math.min(count, top + viewportRows + overscan) };
}
