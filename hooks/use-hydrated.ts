import { useSyncExternalStore } from "react";

const subscribe = () => () => {};

// false during the server render and hydration, true afterwards: for text that depends on the
// browser (its time zone), which would otherwise differ from the server's HTML.
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
