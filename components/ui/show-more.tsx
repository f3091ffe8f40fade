"use client";

import { useState } from "react";

const PAGE = 50;

// Long lists (a session can hold 1,000 models) render a page of items at first, and a button
// adds the next page: a thousand cards at once would take seconds to draw.
export function useShownCount(): [number, () => void] {
  const [count, setCount] = useState(PAGE);
  return [count, () => setCount((c) => c + PAGE)];
}

export function ShowMore({ shown, total, onMore, testId }: { shown: number; total: number; onMore: () => void; testId: string }) {
  if (shown >= total) return null;
  return (
    <button type="button" className="btn btn-ghost btn-sm mt-4" onClick={onMore} data-testid={testId}>
      Show {Math.min(PAGE, total - shown)} more ({total - shown} not shown)
    </button>
  );
}
