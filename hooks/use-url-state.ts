import { useContext } from "react";
import { UrlStateContext } from "@/components/dashboard/url-state-provider";

// The dashboard's query-string state: read with searchParams.get(), write with setParam
// (push for a new history entry, as a tab change; replace otherwise, as a range or model choice).
export function useUrlState() {
  const state = useContext(UrlStateContext);
  if (!state) throw new Error("useUrlState needs <UrlStateProvider>");
  return state;
}
