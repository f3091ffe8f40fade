"use client";

import { useRef } from "react";
import { CostsTab } from "@/components/costs/costs-tab";
import { HostsTab } from "@/components/hosts/hosts-tab";
import { MetricsTab } from "@/components/metrics/metrics-tab";
import { ModelsTab } from "@/components/models/models-tab";
import { OverviewTab } from "@/components/overview/overview-tab";
import { RegistryTab } from "@/components/registry/registry-tab";
import { useUrlState } from "@/hooks/use-url-state";
import { nextTab, panelId, parseTab, tabHref, tabId, TABS, type TabId } from "./tabs";

// The tab bar (an ARIA tablist with roving tabindex and arrow keys) and the active panel. Tabs
// are real links (?tab=…), so reload, Back and opening in a new tab work; only the active
// panel is rendered, so leaving a tab unmounts (and destroys) its charts.
export function DashboardTabs({ currency }: { currency: string }) {
  const { searchParams, setParam } = useUrlState();
  const active = parseTab(searchParams.get("tab"));
  const tabs = useRef(new Map<TabId, HTMLAnchorElement>());

  const select = (id: TabId, { focus = false } = {}) => {
    if (id !== active) setParam("tab", id, { push: true });
    if (focus) tabs.current.get(id)?.focus();
  };

  const onKeyDown = (event: React.KeyboardEvent<HTMLAnchorElement>) => {
    if (event.key === " ") {
      event.preventDefault();
      select(active);
      return;
    }
    const next = nextTab(active, event.key);
    if (!next) return;
    event.preventDefault();
    select(next, { focus: true });
  };

  return (
    <>
      <div className="tabbar">
        <div role="tablist" aria-label="Dashboard sections" className="mx-auto flex max-w-7xl gap-1 overflow-x-auto px-2 min-[480px]:px-4">
          {TABS.map((t) => {
            const selected = t.id === active;
            return (
              <a
                key={t.id}
                ref={(el) => {
                  if (el) tabs.current.set(t.id, el);
                  else tabs.current.delete(t.id);
                }}
                role="tab"
                id={tabId(t.id)}
                href={tabHref(searchParams.toString(), t.id)}
                aria-selected={selected}
                aria-controls={selected ? panelId(t.id) : undefined}
                tabIndex={selected ? 0 : -1}
                className="tab"
                onClick={(event) => {
                  // New-tab and new-window clicks keep the browser's own behaviour.
                  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || event.button !== 0) return;
                  event.preventDefault();
                  select(t.id);
                }}
                onKeyDown={onKeyDown}
              >
                {t.label}
              </a>
            );
          })}
        </div>
      </div>
      <main id="content" className="mx-auto w-full max-w-7xl flex-1 px-3 py-6 min-[480px]:px-4">
        <div role="tabpanel" id={panelId(active)} aria-labelledby={tabId(active)} tabIndex={0} className="outline-none" data-testid={`panel-${active}`}>
          <Panel tab={active} currency={currency} />
        </div>
      </main>
    </>
  );
}

function Panel({ tab, currency }: { tab: TabId; currency: string }) {
  switch (tab) {
    case "overview":
      return <OverviewTab currency={currency} />;
    case "models":
      return <ModelsTab currency={currency} />;
    case "costs":
      return <CostsTab currency={currency} />;
    case "metrics":
      return <MetricsTab currency={currency} />;
    case "hosts":
      return <HostsTab currency={currency} />;
    case "registry":
      return <RegistryTab />;
  }
}
