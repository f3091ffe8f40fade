import { createContext, useContext } from "react";

export type SetParam = (name: string, value: string | null, options?: { push?: boolean }) => void;

// Filled by <UrlStateProvider> (components/dashboard), which keeps it in step with the address bar.
export const UrlStateContext = createContext<{ searchParams: URLSearchParams; setParam: SetParam } | null>(null);

// The dashboard's query-string state: read with searchParams.get(), write with setParam
// (push for a new history entry, as a tab change; replace otherwise, as a range or model choice).
export function useUrlState() {
  const state = useContext(UrlStateContext);
  if (!state) throw new Error("useUrlState needs <UrlStateProvider>");
  return state;
}
