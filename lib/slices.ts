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
