"use client";

import { formatDateTime } from "@/components/format";
import { useHydrated } from "@/hooks/use-hydrated";

// A timestamp in the viewer's time zone; the server (which does not know it) renders UTC.
export function LocalTime({ iso }: { iso: string }) {
  const hydrated = useHydrated();
  return (
    <time dateTime={iso} suppressHydrationWarning>
      {formatDateTime(iso, { utc: !hydrated })}
    </time>
  );
}
