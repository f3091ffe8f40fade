"use client";

import { formatMoney } from "@/components/format";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { LocalTime } from "@/components/ui/local-time";
import { useBilling } from "@/hooks/use-billing";

const perHour = (usd: number | null, currency: string) => (usd === null ? "—" : `${formatMoney(usd, currency)}/h`);

// The vast.ai instances billed to the key: their rates, what each accrued since this dashboard
// first saw it, and the models on them. Not shown without a key (state "off").
export function VastInstancesCard({ currency, className }: { currency: string; className?: string }) {
  const billing = useBilling().data;
  if (!billing || billing.state === "off") return null;

  return (
    <Card title="vast.ai instances" titleId="vast-instances-title" data-testid="vast-instances" className={className}>
      {billing.state === "auth_failed" && (
        <p className="mb-3 text-sm font-medium text-danger" data-testid="vast-auth-failed">
          vast.ai refuses the API key (AFS_VASTAI_API_KEY){billing.reason ? `: ${billing.reason}` : ""}
        </p>
      )}
      {billing.state === "error" && billing.reason && (
        <p className="mb-3 text-sm font-medium text-warning" data-testid="vast-error">
          The last poll of vast.ai failed: {billing.reason}
        </p>
      )}
      {billing.stale && (
        <p className="mb-3 text-sm text-muted" data-testid="vast-stale">
          The list is the last known one
          {billing.last_polled && (
            <>
              , polled <LocalTime iso={billing.last_polled} />
            </>
          )}
          .
        </p>
      )}
      {billing.instances.length === 0 ? (
        billing.state === "ok" && <EmptyState>No instances on this vast.ai account</EmptyState>
      ) : (
        <div className="table-scroll" role="region" aria-labelledby="vast-instances-title" tabIndex={0}>
          <table className="data-table" data-testid="vast-instances-table">
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">State</th>
                <th scope="col" className="num">
                  Rate
                </th>
                <th scope="col" className="num hide-xs">
                  Storage
                </th>
                <th scope="col" className="num">
                  Accrued
                </th>
                <th scope="col">Models</th>
                <th scope="col" className="hide-xs">
                  Observed since
                </th>
              </tr>
            </thead>
            <tbody>
              {billing.instances.map((i) => (
                <tr key={i.id} data-testid={`vast-instance-${i.id}`}>
                  <th scope="row" className="font-medium">
                    <span className="tabular-nums">{i.id}</span>
                    {i.label && <span className="block font-mono text-xs text-muted">{i.label}</span>}
                  </th>
                  <td>
                    {i.destroyed_at ? (
                      <>
                        destroyed <LocalTime iso={i.destroyed_at} />
                      </>
                    ) : (
                      i.state
                    )}
                    {i.num_gpus !== null && i.gpu_name && (
                      <span className="block text-xs text-muted">
                        {i.num_gpus} × {i.gpu_name}
                      </span>
                    )}
                  </td>
                  <td className="num">{perHour(i.dph_total, currency)}</td>
                  <td className="num hide-xs">{perHour(i.storage_total_cost, currency)}</td>
                  <td className="num">{formatMoney(i.accrued_usd, currency)}</td>
                  <td className="font-mono text-xs">{i.models.length ? i.models.join(", ") : "—"}</td>
                  <td className="hide-xs">
                    <LocalTime iso={i.observed_since} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
