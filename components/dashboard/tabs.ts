// The dashboard's tabs, in order; the active one lives in the URL as ?tab=<id>.
export const TABS = [
  { id: "overview", label: "Overview" },
  { id: "models", label: "Models" },
  { id: "costs", label: "Costs" },
  { id: "metrics", label: "Metrics" },
  { id: "hosts", label: "Hosts" },
  { id: "registry", label: "Registry" },
] as const;

export type TabId = (typeof TABS)[number]["id"];

export function parseTab(value: string | string[] | undefined | null): TabId {
  return TABS.find((t) => t.id === value)?.id ?? "overview";
}

export const tabId = (id: TabId) => `tab-${id}`;
export const panelId = (id: TabId) => `panel-${id}`;

// The href of a tab: the current query with only ?tab= changed, so other choices (range, model) stay.
export function tabHref(search: string, id: TabId): string {
  const params = new URLSearchParams(search);
  params.set("tab", id);
  return `?${params.toString()}`;
}

// The tab that an arrow/Home/End key moves to from `current`, wrapping around; null for other keys.
export function nextTab(current: TabId, key: string): TabId | null {
  const i = TABS.findIndex((t) => t.id === current);
  const n = TABS.length;
  switch (key) {
    case "ArrowRight":
      return TABS[(i + 1) % n].id;
    case "ArrowLeft":
      return TABS[(i - 1 + n) % n].id;
    case "Home":
      return TABS[0].id;
    case "End":
      return TABS[n - 1].id;
    default:
      return null;
  }
}
