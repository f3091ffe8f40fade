"use client";

import { createContext, useCallback, useContext, useMemo, useState } from "react";
import { SWRConfig, type SWRConfiguration } from "swr";
import { fetcher } from "@/lib/swr/fetcher";

type Activity = {
  // When an answer last arrived (the server's render time until the first refresh).
  lastUpdated: number;
  // Keys whose latest request failed, with the API's error text; their last data stays shown.
  failures: Record<string, string>;
  // The server's clock at render: where ticking clocks start, so the server HTML and hydration agree.
  serverNow: number;
};

const ActivityContext = createContext<Activity>({ lastUpdated: 0, failures: {}, serverNow: 0 });

// SWR for the whole dashboard: the server's data as fallback (first paint without a request),
// the shared fetcher, refresh every AFS_REFRESH_SECONDS and on focus, and a record of the last
// success and the current failures for the header and the error banner.
export function DataProvider({
  fallback,
  refreshSeconds,
  serverNow,
  children,
}: {
  fallback: Record<string, unknown>;
  refreshSeconds: number;
  serverNow: number;
  children: React.ReactNode;
}) {
  const [lastUpdated, setLastUpdated] = useState(serverNow);
  const [failures, setFailures] = useState<Record<string, string>>({});

  const onSuccess = useCallback((_data: unknown, key: string) => {
    setLastUpdated(Date.now());
    setFailures((f) => {
      if (!(key in f)) return f;
      const { [key]: _gone, ...rest } = f;
      return rest;
    });
  }, []);
  const onError = useCallback((error: Error, key: string) => {
    setFailures((f) => (f[key] === error.message ? f : { ...f, [key]: error.message }));
  }, []);

  const config = useMemo<SWRConfiguration>(
    () => ({
      fallback,
      fetcher,
      refreshInterval: refreshSeconds * 1000,
      revalidateOnFocus: true,
      // A new key (another time range) keeps showing the previous answer until its own arrives.
      keepPreviousData: true,
      onSuccess,
      onError,
    }),
    [fallback, refreshSeconds, onSuccess, onError],
  );
  const activity = useMemo(() => ({ lastUpdated, failures, serverNow }), [lastUpdated, failures, serverNow]);

  return (
    <SWRConfig value={config}>
      <ActivityContext.Provider value={activity}>{children}</ActivityContext.Provider>
    </SWRConfig>
  );
}

export function useActivity(): Activity {
  return useContext(ActivityContext);
}
