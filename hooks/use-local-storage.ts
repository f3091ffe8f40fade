import { useCallback, useSyncExternalStore } from "react";

// Where the browser refuses storage (blocked, private mode), values last for this page's life.
const memory = new Map<string, string>();
const listeners = new Set<() => void>();

function read(key: string): string {
  try {
    return window.localStorage.getItem(key) ?? "";
  } catch {
    return memory.get(key) ?? "";
  }
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  // Other tabs of the dashboard write the same keys.
  window.addEventListener("storage", listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", listener);
  };
}

// A string in localStorage ("" when unset), shared by every component and tab that reads `key`.
// null during the server render and hydration, where it cannot be known.
export function useLocalStorage(key: string): [string | null, (value: string) => void] {
  const value = useSyncExternalStore(
    subscribe,
    () => read(key),
    () => null,
  );
  const set = useCallback(
    (next: string) => {
      try {
        window.localStorage.setItem(key, next);
      } catch {
        memory.set(key, next);
      }
      for (const listener of listeners) listener();
    },
    [key],
  );
  return [value, set];
}
