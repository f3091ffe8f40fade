import { formatAgo, formatMoney, formatNumber } from "@/components/format";
import { ReplayChip } from "@/components/metrics/replay-chip";
import { HostStateBadge, StatusBadge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { LocalTime } from "@/components/ui/local-time";
import { ShowMore, useShownCount } from "@/components/ui/show-more";
import type { Host, ModelStatus } from "@/lib/schemas/api";

const gb = (mb: number | null) => (mb === null ? "—" : formatNumber(mb / 1024, 1));
const unit = (value: number | null, suffix: string, digits = 0) => (value === null ? "—" : `${formatNumber(value, digits)}${suffix}`);

// "2 × NVIDIA H100 80GB HBM3": the cards by model, said once rather than on every row.
function gpuModels(gpus: Host["gpus"]): string {
  const counts = new Map<string, number>();
  for (const g of gpus) {
    const name = g.name ?? "unknown model";
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => `${n} × ${name}`).join(", ");
}

// One host: its state (and why, in words), its price and when it last answered, each GPU's
// latest reading, the processes holding GPU memory and the models whose runs it holds.
export function HostCard({ host, models, currency, now }: { host: Host; models: Map<string, ModelStatus>; currency: string; now: number }) {
  const titleId = `host-${host.name}`;
  const [shown, showMore] = useShownCount();
  const processes = host.gpus.flatMap((g) => g.processes.map((p) => ({ ...p, gpu: g.index })));
  const idle = new Map(host.idle_gpus.map((g) => [g.index, g]));
  return (
    <Card
      title={host.name}
      titleId={titleId}
      data-testid={`host-card-${host.name}`}
      actions={
        <>
          {host.gpu_source === "replay" && <ReplayChip data-testid="host-replay" />}
          <HostStateBadge state={host.state} data-testid="host-state" />
        </>
      }
    >
      {host.reason && (
        <p className="-mt-2 mb-4 text-sm text-muted" data-testid="host-reason">
          {host.reason}
        </p>
      )}
      <dl className="grid grid-cols-2 gap-x-4 gap-y-3 text-sm min-[480px]:grid-cols-3">
        <Item label="Source" value={host.gpu_source === host.source ? host.source : `${host.source}, ${host.gpu_source}`} />
        <Item label="Price" value={host.cost_per_hour === null ? "—" : `${formatMoney(host.cost_per_hour, currency)}/h`} testId="host-cost" />
        <Item
          label="Last seen"
          testId="host-last-seen"
          value={
            host.last_seen === null ? (
              "never"
            ) : (
              <time dateTime={host.last_seen} title={host.last_seen}>
                {formatAgo(now - Date.parse(host.last_seen))}
              </time>
            )
          }
        />
      </dl>

      <h3 className="mt-5 mb-2 text-sm font-semibold">
        GPUs{" "}
        {host.gpus.length > 0 && (
          <span className="font-normal text-muted" data-testid="host-gpu-models">
            {gpuModels(host.gpus)}
          </span>
        )}
      </h3>
      {host.gpus.length === 0 ? (
        <p className="text-sm text-muted">No GPU reading</p>
      ) : (
        <div className="table-scroll" role="region" aria-label={`GPUs of ${host.name}`} tabIndex={0}>
          <table className="data-table" data-testid="host-gpus">
            <thead>
              <tr>
                <th scope="col">GPU</th>
                <th scope="col" className="num">
                  Utilization
                </th>
                <th scope="col" className="num">
                  Memory (GB)
                </th>
                <th scope="col" className="num">
                  Temp.
                </th>
                <th scope="col" className="num">
                  Power (W)
                </th>
              </tr>
            </thead>
            <tbody>
              {host.gpus.map((g) => {
                const idleSince = idle.get(g.index);
                return (
                  <tr key={g.index} data-testid={`host-gpu-${g.index}`}>
                    <th scope="row" className="font-normal tabular-nums">
                      {g.index}
                      {g.error && <span className="block text-xs text-muted">{g.error}</span>}
                      {idleSince && (
                        <span className="block text-xs font-medium text-warning" data-testid="idle-gpu">
                          idle since <LocalTime iso={idleSince.since} />, billed {formatMoney(idleSince.usd_per_hour, currency)}/h
                        </span>
                      )}
                    </th>
                    <td className="num">{unit(g.utilization, "%", 1)}</td>
                    <td className="num">
                      {gb(g.memory_used_mb)} / {gb(g.memory_total_mb)}
                    </td>
                    <td className="num">{unit(g.temperature_c, " °C")}</td>
                    <td className="num">
                      {unit(g.power_w, "")}
                      {g.power_limit_w !== null && <span className="text-muted"> / {formatNumber(g.power_limit_w)}</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      <h3 className="mt-5 mb-2 text-sm font-semibold">Processes holding GPU memory</h3>
      {processes.length === 0 ? (
        <p className="text-sm text-muted">None</p>
      ) : (
        <div className="table-scroll" role="region" aria-label={`Processes on ${host.name}'s GPUs`} tabIndex={0}>
          <table className="data-table" data-testid="host-processes">
            <thead>
              <tr>
                <th scope="col">Process</th>
                <th scope="col" className="num">
                  PID
                </th>
                <th scope="col" className="num">
                  GPU
                </th>
                <th scope="col" className="num">
                  Memory (GB)
                </th>
              </tr>
            </thead>
            <tbody>
              {processes.map((p) => (
                <tr key={`${p.gpu}-${p.pid}`}>
                  <td className="font-mono text-xs break-all">{p.name}</td>
                  <td className="num">{p.pid}</td>
                  <td className="num">{p.gpu}</td>
                  <td className="num">{gb(p.used_memory_mb)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h3 className="mt-5 mb-2 text-sm font-semibold">Models</h3>
      {host.models.length === 0 ? (
        <p className="text-sm text-muted">None</p>
      ) : (
        <ul className="grid gap-2 text-sm" data-testid="host-models">
          {host.models.slice(0, shown).map((key) => {
            const model = models.get(key);
            return (
              <li key={key} className="flex flex-wrap items-center gap-x-2 gap-y-1" data-testid={`host-model-${key}`}>
                <span className="font-medium">{model?.name ?? key}</span>
                <span className="font-mono text-xs text-muted">{key}</span>
                {model && <StatusBadge status={model.status} />}
              </li>
            );
          })}
        </ul>
      )}
      <ShowMore shown={shown} total={host.models.length} onMore={showMore} testId={`host-models-more-${host.name}`} />
    </Card>
  );
}

function Item({ label, value, testId }: { label: string; value: React.ReactNode; testId?: string }) {
  return (
    <div>
      <dt className="text-xs text-muted">{label}</dt>
      <dd className="font-semibold tabular-nums" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}
