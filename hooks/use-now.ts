import { useEffect, useState } from "react";

// The current time, ticking every `intervalMs` on its multiples, so that every clock of one
// interval on the page reads the same time (a stall's minutes in the banner and in the table).
// The first render uses `initial` (the server's clock) so the server HTML and the browser's
// hydration agree; ticking starts after mount.
export function useNow(initial: number, intervalMs = 1000): number {
  const [now, setNow] = useState(initial);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const tick = () => {
      const t = Date.now();
      setNow(t - (t % intervalMs));
      timer = setTimeout(tick, intervalMs - (t % intervalMs));
    };
    tick();
    return () => clearTimeout(timer);
  }, [intervalMs]);
  return now;
}
