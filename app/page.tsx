import { AlertsBell } from "@/components/alerts/alerts-bell";
import { DashboardTabs } from "@/components/dashboard/dashboard-tabs";
import { DataProvider } from "@/components/dashboard/data-provider";
import { DataWarnings } from "@/components/dashboard/data-warnings";
import { ErrorBanner } from "@/components/dashboard/error-banner";
import { NoticeBanner } from "@/components/dashboard/notice-banner";
import { RefreshButton } from "@/components/dashboard/refresh-button";
import { SessionClock } from "@/components/dashboard/session-clock";
import { parseTab } from "@/components/dashboard/tabs";
import { UrlStateProvider } from "@/components/dashboard/url-state-provider";
import { chooseHost, chooseModel, modelsWithCurves } from "@/components/metrics/series";
import { ThemeToggle } from "@/components/theme/theme-toggle";
import { alertsAnswer } from "@/lib/alerts/view";
import { summarizeCosts } from "@/lib/costs";
import { getEnv } from "@/lib/env";
import { storeUnavailable } from "@/lib/errors";
import { listHosts } from "@/lib/hosts/fleet";
import { getGpuUtilization, getThroughput, getTrainingLoss } from "@/lib/metrics";
import { requirePageAccess } from "@/lib/page-access";
import { summarizeRegistry } from "@/lib/registry";
import type { CostBreakdownResponse, HostsResponse, ModelsStatusResponse, TrainingStatusResponse } from "@/lib/schemas/api";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { parseTimeRange } from "@/lib/schemas/time-range";
import { EXPORT_CSV_URL, EXPORT_JSON_URL, KEYS } from "@/lib/swr/keys";
import { getState } from "@/lib/state/live-state";
import { summarizeTraining } from "@/lib/training";

// Renders the live state on every request: the numbers must be current, never a build-time copy.
export const dynamic = "force-dynamic";

// GPU history comes from the store; if it fails here it is left out of the first paint, and the
// browser asks for it (the error banner says why if it fails there too).
async function settle<T>(what: string, promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    console.error(`dashboard: could not read ${what} for the first render:`, error);
    return undefined;
  }
}

export default async function HomePage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requirePageAccess();
  const params = await searchParams;
  const range = parseTimeRange(params.range);
  const tab = parseTab(params.tab);
  // One snapshot for the numbers that derive from it, the same calls the API handlers make.
  let snapshot: Awaited<ReturnType<typeof getState>>;
  try {
    snapshot = await getState();
  } catch (error) {
    // Before the store was first read there is nothing to show: say why, not a bare 500.
    const unavailable = storeUnavailable(error);
    if (!unavailable) throw error;
    return (
      <main className="mx-auto max-w-2xl px-4 py-16" data-testid="store-unavailable">
        <h1 className="text-xl font-semibold">The dashboard&apos;s store does not answer</h1>
        <p className="mt-3 text-muted">{unavailable.message}. Reload once it is back; the server needs no restart.</p>
      </main>
    );
  }
  const { config, models, warnings, now } = snapshot;
  const gpu = await settle("GPU metrics", getGpuUtilization({ range }));
  // The header's bell is on every tab: its count is in the first paint.
  const alerts = await settle("alerts", alertsAnswer({ now, snapshotWarnings: warnings }));
  // The overview counts the hosts, the hosts tab shows them, the metrics tab picks one.
  const hosts = tab === "overview" || tab === "hosts" || tab === "metrics" ? listHosts({ snapshot }) : null;

  // What the first view shows, and no more: with 1,000 models every tab's data (every model's
  // curves above all) made the HTML megabytes long. Other tabs fetch theirs when opened.
  const fallback: Record<string, unknown> = {
    [KEYS.trainingStatus]: summarizeTraining(snapshot) satisfies TrainingStatusResponse,
    [KEYS.modelsStatus]: { models, timestamp: new Date(now).toISOString(), warnings } satisfies ModelsStatusResponse,
    [KEYS.costs]: summarizeCosts(snapshot) satisfies CostBreakdownResponse,
    ...(gpu && { [KEYS.gpu(range)]: gpu }),
    ...(alerts && { [KEYS.alerts]: alerts }),
  };
  if (hosts) fallback[KEYS.hosts] = { hosts, timestamp: new Date(now).toISOString() } satisfies HostsResponse;
  if (tab === "registry") fallback[KEYS.registry] = summarizeRegistry(snapshot);
  if (tab === "metrics") {
    const host = chooseHost({ requested: typeof params.host === "string" ? params.host : null, hosts: hosts!.map((h) => h.name) });
    if (host !== LOCAL_HOST) {
      const history = await settle(`${host}'s GPU metrics`, getGpuUtilization({ range, host }));
      if (history) fallback[KEYS.gpu(range, host)] = history;
    }
    const index = getTrainingLoss(snapshot, { points: 2 });
    fallback[KEYS.lossIndex] = index;
    const requested = typeof params.model === "string" ? params.model : null;
    const model = chooseModel({ requested, models, withCurves: modelsWithCurves(index.metrics) });
    if (model) {
      fallback[KEYS.trainingLoss(model)] = getTrainingLoss(snapshot, { model, points: 1000 });
      fallback[KEYS.throughput(model)] = getThroughput(snapshot, { model, points: 1000 });
    }
  }
  const { refreshSeconds } = getEnv();
  const currency = config.session.currency;

  return (
    <DataProvider fallback={fallback} refreshSeconds={refreshSeconds} serverNow={now}>
      <UrlStateProvider>
        <a href="#content" className="skip-link">
          Skip to content
        </a>
        <div className="flex min-h-screen flex-col">
          <header className="app-header">
            <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-x-6 gap-y-3 px-3 pt-4 pb-3 min-[480px]:px-4">
              <div className="min-w-0">
                <p className="text-xs font-semibold uppercase tracking-wider text-primary">AFS Training Dashboard</p>
                <h1 className="mt-0.5 text-xl font-semibold min-[768px]:text-2xl">{config.session.name}</h1>
                <SessionClock />
              </div>
              <div className="no-print flex items-center gap-2">
                <AlertsBell />
                <RefreshButton />
                <ThemeToggle />
              </div>
            </div>
          </header>
          <ErrorBanner />
          <NoticeBanner />
          <DashboardTabs currency={currency} />
          <footer className="app-footer">
            <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-4 px-3 py-4 text-sm min-[480px]:px-4">
              <div className="flex flex-wrap items-center gap-2">
                <span className="text-muted">Export all models:</span>
                <a href={EXPORT_CSV_URL} download className="btn btn-ghost btn-sm" data-testid="export-csv">
                  CSV
                </a>
                <a href={EXPORT_JSON_URL} download className="btn btn-ghost btn-sm" data-testid="export-json">
                  JSON
                </a>
              </div>
              <DataWarnings />
              <p className="text-xs text-muted">Refreshes every {refreshSeconds} s and when this window regains focus</p>
            </div>
          </footer>
        </div>
      </UrlStateProvider>
    </DataProvider>
  );
}
