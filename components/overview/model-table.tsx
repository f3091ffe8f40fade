"use client";

import { memo, useDeferredValue, useId, useMemo, useRef, useState } from "react";
import { formatHours, formatMoney, formatNumber, formatScore } from "@/components/format";
import { ConfigErrors, ConfiguredMarker, StalledBadge } from "@/components/models/model-notes";
import { StatusBadge } from "@/components/ui/badge";
import { ProgressBar } from "@/components/ui/progress-bar";
import { useModelsStatus } from "@/hooks/use-models-status";
import { useUrlState } from "@/hooks/use-url-state";
import type { ModelStatus } from "@/lib/schemas/api";
import { filterModels, visibleRows } from "./window";

// Every row is this tall, so which rows are in view follows from the scroll offset alone; only
// those (and a few either side) are rendered, whatever the number of models. Below 480 px the
// folded status makes rows a few px taller: the overscan covers the difference.
const ROW_HEIGHT = 64;
const VIEWPORT_ROWS = 10;
const OVERSCAN = 5;
const COLUMNS = 7;
const NO_MODELS: ModelStatus[] = [];

// Every model's status at a glance: one row per model, narrowed by the filter (?q= in the URL, so
// it survives a reload). Secondary columns give way on narrow screens. Memoized: the overview's
// other updates (GPU samples, the clock) leave it alone.
export const ModelTable = memo(function ModelTable({ currency }: { currency: string }) {
  const models = useModelsStatus().data?.models ?? NO_MODELS;
  const { searchParams, setParam } = useUrlState();
  const query = searchParams.get("q") ?? "";
  // The keystroke shows at once; the list follows at a lower priority.
  const deferredQuery = useDeferredValue(query);
  const shown = useMemo(() => filterModels(models, deferredQuery), [models, deferredQuery]);
  const [topRow, setTopRow] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const filterId = useId();
  const { first, last } = visibleRows({ count: shown.length, topRow, viewportRows: VIEWPORT_ROWS, overscan: OVERSCAN });

  return (
    <section className="card p-0" aria-labelledby="model-table-title">
      <div className="flex flex-wrap items-center justify-between gap-3 px-5 pt-5">
        <h2 id="model-table-title" className="text-base font-semibold">
          Models
        </h2>
        <div className="flex items-center gap-3 text-sm">
          <p className="text-muted" aria-live="polite" data-testid="model-count">
            {shown.length === models.length ? `${models.length} models` : `${shown.length} of ${models.length} models`}
          </p>
          <label htmlFor={filterId} className="sr-only">
            Filter models by name, key or status
          </label>
          <input
            id={filterId}
            type="search"
            className="input"
            placeholder="Filter by name, key, status"
            value={query}
            onChange={(e) => {
              setParam("q", e.target.value || null);
              box.current?.scrollTo({ top: 0 });
              setTopRow(0);
            }}
            data-testid="model-filter"
          />
        </div>
      </div>
      <div
        ref={box}
        className="table-scroll table-window"
        style={{ maxHeight: VIEWPORT_ROWS * ROW_HEIGHT }}
        role="region"
        aria-labelledby="model-table-title"
        tabIndex={0}
        onScroll={(e) => setTopRow(Math.floor(e.currentTarget.scrollTop / ROW_HEIGHT))}
      >
        <table className="data-table" data-testid="model-table" aria-rowcount={shown.length + 1}>
          <thead>
            <tr aria-rowindex={1}>
              <th scope="col">Model</th>
              <th scope="col" className="hide-xs">
                Status
              </th>
              <th scope="col" className="w-[28%]">
                Progress
              </th>
              <th scope="col" className="num hide-sm">
                Samples
              </th>
              <th scope="col" className="num hide-sm">
                GPU hours
              </th>
              <th scope="col" className="num">
                Cost
              </th>
              <th scope="col" className="num hide-md">
                Eval
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.length === 0 && (
              <tr>
                <td colSpan={COLUMNS} className="text-muted" data-testid="model-filter-empty">
                  No model matches “{deferredQuery}”
                </td>
              </tr>
            )}
            <Spacer rows={first} />
            {shown.slice(first, last).map((m, i) => (
              <ModelRow key={m.key} model={m} currency={currency} rowIndex={first + i + 2} />
            ))}
            <Spacer rows={shown.length - last} />
          </tbody>
        </table>
      </div>
    </section>
  );
});

// Stands in for rows scrolled out of view, so the scrollbar measures the whole list.
function Spacer({ rows }: { rows: number }) {
  if (rows <= 0) return null;
  return (
    <tr aria-hidden="true">
      <td colSpan={COLUMNS} style={{ height: rows * ROW_HEIGHT, padding: 0, border: 0 }} />
    </tr>
  );
}

// A live status event replaces one model's object; the other rows keep theirs and skip rendering.
const ModelRow = memo(function ModelRow({ model: m, currency, rowIndex }: { model: ModelStatus; currency: string; rowIndex: number }) {
  return (
    <tr data-testid={`model-row-${m.key}`} aria-rowindex={rowIndex} style={{ height: ROW_HEIGHT }}>
      <th scope="row" className="font-medium whitespace-nowrap">
        {m.name}
        <div className="text-xs font-normal text-muted hide-xs">{m.key}</div>
        {/* Below 480 px the status column folds in under the name. */}
        <div className="mt-1 show-xs">
          <Status model={m} />
        </div>
        <ConfigErrors errors={m.config_errors} />
      </th>
      <td className="hide-xs">
        <Status model={m} />
      </td>
      <td>
        <ProgressBar value={m.progress} status={m.status} label={`${m.name} progress`} />
      </td>
      <td className="num hide-sm">{formatNumber(m.training_samples)}</td>
      {/* The marker goes under the figure, so the column stays narrow; below 480 px it gives way. */}
      <td className="num hide-sm">
        {formatHours(m.gpu_hours)}
        <div className="hide-xs">
          <ConfiguredMarker source={m.gpu_hours_source} />
        </div>
      </td>
      <td className="num">
        {formatMoney(m.total_cost, currency)}
        <div className="hide-xs">
          <ConfiguredMarker source={m.total_cost_source} />
        </div>
      </td>
      <td className="num hide-md">{formatScore(m.evaluation_score)}</td>
    </tr>
  );
});

function Status({ model }: { model: ModelStatus }) {
  return (
    <span className="inline-flex flex-wrap gap-1.5">
      <StatusBadge status={model.status} />
      {model.stalled_since && <StalledBadge since={model.stalled_since} />}
    </span>
  );
}
