// Long work done in slices: pause() gives the event loop back once the current slice has run
// SLICE_MS, so requests (health above all) are answered while a big file is parsed or merged.
const SLICE_MS = 8;

export type Pause = () => Promise<void>;

export function slicer(): Pause {
  let sliceStart = performance.now();
  return async () => {
    if (performance.now() - sliceStart < SLICE_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    sliceStart = performance.now();
  };
}

// Items handled between two pause() calls in a loop over a large array: often enough to keep
// slices short, rarely enough that the checks cost nothing.
export const SLICE_ITEMS = 8192;

// fn over items, `size` at a time, results in order. One at a time, thousands of small files take
// seconds of waiting on the disk; all at once, each would hold its buffers at the same time.
export async function mapInBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    for (const result of await Promise.all(items.slice(i, i + size).map(fn))) results.push(result);
  }
  return results;
}
