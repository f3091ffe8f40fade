import { round } from "@/lib/numbers";

// What the dashboard spent on vast.ai instances, worked out from its own polls of the
// instance list. Pure: the polls come in, the money goes out; nothing here reads or stores.

export type PolledInstance = {
  id: number;
  label: string | null;
  // cur_state, else actual_status
  state: string;
  dph_total: number | null;
  storage_total_cost: number | null;
  num_gpus: number | null;
};

// Hours times rates leave binary noise (1.5 × 0.15 is 0.22499999…), which would tip a half
// cent the wrong way; 12 significant digits drop the noise and keep every real digit.
export const toCents = (usd: number) => Math.round(Number((usd * 100).toPrecision(12))) / 100;

// Only `running` rents the GPUs; every other state (loading, stopped, exited, created, offline…)
// still holds the disk, so it pays storage. A rate vast leaves null is charged as $0.
export const rateOf = (i: Pick<PolledInstance, "state" | "dph_total" | "storage_total_cost">) => (i.state === "running" ? i.dph_total : i.storage_total_cost) ?? 0;

// A failed poll (ok: false) says nothing about instances; it only leaves a gap.
export type Poll = { at: number; ok: boolean; instances: PolledInstance[] };

// One stretch billed at one rate; the segments of an instance are sorted and do not overlap.
export type Segment = { from: number; to: number; state: string; rate_usd_per_hour: number; num_gpus: number };

export type Stretch = { from: number; to: number };

export type InstanceAccrual = {
  id: number;
  label: string | null;
  state: string;
  dph_total: number | null;
  storage_total_cost: number | null;
  observed_since: number;
  destroyed_at?: number;
  accrued_usd: number;
  running_hours: number;
  gpu_hours: number;
  unknown: Stretch[];
  segments: Segment[];
};

export type ModelWindows = { key: string; instance_id?: number; windows: { from: number; to: number | null }[] };
// A stretch of a model's spend at one rate, with the GPUs it held then (0 unless running).
export type Piece = { from: number; to: number; usd_per_hour: number; gpus: number };
export type ModelCost = { key: string; instance_id: number | null; total_cost: number; gpu_hours: number; pieces: Piece[] };

type Tracked = { last: PolledInstance; observed_since: number; destroyed_at?: number; segments: Segment[]; unknown: Stretch[] };

const HOUR_MS = 3_600_000;
// Longer than this without a successful poll, nobody knows what the instance did.
const GAP_INTERVALS = 3;


export function accrueInstances({ polls, intervalMs, now }: { polls: Poll[]; intervalMs: number; now: number }): {
  instances: InstanceAccrual[];
  warnings: string[];
} {
  const ok = polls.filter((p) => p.ok);
  const limit = GAP_INTERVALS * intervalMs;
  const byId = new Map<number, Tracked>();
  const warnings: string[] = [];

  const bill = (entry: Tracked, i: PolledInstance, from: number, to: number) => {
    if (to <= from) return;
    const seg = { from, to, state: i.state, rate_usd_per_hour: rateOf(i), num_gpus: i.num_gpus ?? 0 };
    const prev = entry.segments.at(-1);
    const same = prev && prev.to === from && prev.state === seg.state && prev.rate_usd_per_hour === seg.rate_usd_per_hour && prev.num_gpus === seg.num_gpus;
    if (same) prev.to = to;
    else entry.segments.push(seg);
  };
  const unknown = (entry: Tracked, i: PolledInstance, from: number, to: number, why: string) => {
    entry.unknown.push({ from, to });
    const name = `instance ${i.id}${i.label ? ` (${i.label})` : ""}`;
    warnings.push(`${name}: ${why} from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}; not charged`);
  };

  ok.forEach((poll, n) => {
    const next = ok[n + 1];
    for (const i of poll.instances) {
      let entry = byId.get(i.id);
      if (!entry) {
        entry = { last: i, observed_since: poll.at, segments: [], unknown: [] };
        byId.set(i.id, entry);
      }
      entry.last = i;
      entry.destroyed_at = undefined;
      if (next) {
        if (next.at - poll.at > limit) unknown(entry, i, poll.at, next.at, "no successful poll");
        // A rate or state holds from the poll that reported it until the next one.
        else bill(entry, i, poll.at, next.at);
        if (!next.instances.some((j) => j.id === i.id)) entry.destroyed_at = next.at;
      } else {
        // The last known state runs on to now, but no further than a gap may reach.
        const cap = Math.min(now, poll.at + limit);
        bill(entry, i, poll.at, cap);
        if (now > cap) unknown(entry, i, cap, now, "no successful poll since the last one");
      }
    }
  });

  const instances = [...byId.values()].map(({ last, observed_since, destroyed_at, segments, unknown }) => {
    const running = segments.filter((s) => s.state === "running");
    const hours = (s: Segment) => (s.to - s.from) / HOUR_MS;
    return {
      id: last.id,
      label: last.label,
      state: last.state,
      dph_total: last.dph_total,
      storage_total_cost: last.storage_total_cost,
      observed_since,
      ...(destroyed_at === undefined ? {} : { destroyed_at }),
      accrued_usd: toCents(segments.reduce((sum, s) => sum + hours(s) * s.rate_usd_per_hour, 0)),
      running_hours: round(running.reduce((sum, s) => sum + hours(s), 0), 4),
      gpu_hours: round(running.reduce((sum, s) => sum + hours(s) * s.num_gpus, 0), 4),
      unknown,
      segments,
    };
  });
  return { instances, warnings };
}

// A model pays what its instances accrued while it ran there: every instance labelled with its
// key (a box destroyed and rented again keeps the label), or the one it names. Models running
// on one instance at once split the cost evenly. GPU hours are not split: each model held the
// instance's GPUs for those hours. `pieces` place the cost in time (for timelines and the cost
// at a loss point); `instance_id` is the newest linked instance.
export function modelCosts({ instances, models, now }: { instances: InstanceAccrual[]; models: ModelWindows[]; now: number }): ModelCost[] {
  const linked = models.map((m) => ({
    model: m,
    instances: instances.filter((i) => (m.instance_id === undefined ? i.label === m.key : i.id === m.instance_id)),
    windows: unionWindows(m.windows.map((w) => ({ from: w.from, to: w.to ?? now }))),
  }));
  const pieces = new Map<string, Piece[]>(models.map((m) => [m.key, []]));

  for (const instance of instances) {
    const on = linked.filter((l) => l.instances.includes(instance));
    if (!on.length) continue;
    // Between two neighbouring boundaries the rate and the set of running models are fixed.
    const edges = [...instance.segments, ...on.flatMap((l) => l.windows)].flatMap((s) => [s.from, s.to]);
    const cuts = [...new Set(edges)].sort((a, b) => a - b);
    for (let c = 0; c + 1 < cuts.length; c++) {
      const [from, to] = [cuts[c], cuts[c + 1]];
      const seg = instance.segments.find((s) => s.from <= from && to <= s.to);
      const active = on.filter((l) => l.windows.some((w) => w.from <= from && to <= w.to));
      if (!seg || !active.length) continue;
      const gpus = seg.state === "running" ? seg.num_gpus : 0;
      for (const l of active) pieces.get(l.model.key)!.push({ from, to, usd_per_hour: seg.rate_usd_per_hour / active.length, gpus });
    }
  }

  return linked.map(({ model, instances: on }) => {
    const own = pieces.get(model.key)!.sort((a, b) => a.from - b.from);
    const newest = on.reduce<InstanceAccrual | null>((a, b) => (a && a.observed_since > b.observed_since ? a : b), null);
    return {
      key: model.key,
      instance_id: newest?.id ?? null,
      total_cost: toCents(spentAt({ pieces: own, at: Infinity }).usd),
      gpu_hours: round(spentAt({ pieces: own, at: Infinity }).gpu_hours, 4),
      pieces: own,
    };
  });
}

// A model's spend and GPU hours up to `at`, unrounded.
export function spentAt({ pieces, at }: { pieces: Piece[]; at: number }): { usd: number; gpu_hours: number } {
  let usd = 0;
  let gpuHours = 0;
  for (const p of pieces) {
    const hours = Math.max(0, Math.min(at, p.to) - p.from) / HOUR_MS;
    usd += hours * p.usd_per_hour;
    gpuHours += hours * p.gpus;
  }
  return { usd, gpu_hours: gpuHours };
}

// A model's own windows may touch or overlap; counted once.
function unionWindows(windows: Stretch[]): Stretch[] {
  const out: Stretch[] = [];
  for (const w of [...windows].sort((a, b) => a.from - b.from)) {
    const prev = out.at(-1);
    if (prev && w.from <= prev.to) prev.to = Math.max(prev.to, w.to);
    else if (w.to > w.from) out.push({ ...w });
  }
  return out;
}
