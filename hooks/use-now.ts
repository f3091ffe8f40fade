import { useEffect, useState } from "react";

// The current time, ticking every second. The first render uses `initial` (the server's clock)
// so the server HTML and the browser's hydration agree; ticking starts after mount.
export function useNow(initial: number, intervalMs = 1000): number {
  const [now, setNow] = useState(initial);
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
