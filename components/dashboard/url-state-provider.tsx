"use client";

import { useSearchParams } from "next/navigation";
import { useCallback, useEffect, useMemo, useState } from "react";
import { UrlStateContext, type SetParam } from "@/hooks/use-url-state";

// The dashboard's query-string state (?tab=, ?range=, ?model=). Changes are written with
// history.pushState/replaceState, with no server round trip (each tab's hooks fetch what the
// page did not send), and kept here as well: a change made in the first moments after load,
// before Next's router watches history, still shows. Back/Forward and Next's own navigations
// are followed.
export function UrlStateProvider({ children }: { children: React.ReactNode }) {
  const nextParams = useSearchParams();
  const [search, setSearch] = useState(() => nextParams.toString());

  // The address bar is the truth: when Next reports a change (its own navigations), read the
  // URL rather than Next's params, which can lag behind a change made just after load.
  useEffect(() => {
    const fromUrl = () => setSearch(window.location.search.replace(/^\?/, ""));
    fromUrl();
    window.addEventListener("popstate", fromUrl);
    return () => window.removeEventListener("popstate", fromUrl);
  }, [nextParams]);

  const setParam = useCallback<SetParam>((name, value, { push = false } = {}) => {
    const params = new URLSearchParams(window.location.search);
    if (value === null) params.delete(name);
    else params.set(name, value);
    const query = params.toString();
    const url = `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`;
    if (push) window.history.pushState(null, "", url);
    else window.history.replaceState(null, "", url);
    setSearch(query);
  }, []);

  const value = useMemo(() => ({ searchParams: new URLSearchParams(search), setParam }), [search, setParam]);
  return <UrlStateContext.Provider value={value}>{children}</UrlStateContext.Provider>;
}
