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
  // Carried along for the answer and the fleet, not used to bill.
  start_date?: number | null;
  gpu_name?: string | null;
  ssh_host?: string | null;
  ssh_port?: number | null;
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

export type InstanceAccrual = Required<PolledInstance> & {
  observed_since: number;
  destroyed_at?: number;
  // spent_usd unrounded (sums of it are rounded once), accrued_usd to the cent.
  spent_usd: number;
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


// The polls folded one at a time, as they come: each successful poll bills the instances of the
// one before it up to itself, so a read (at) only adds the newest poll's stretch up to now. A
// failed poll (ok: false) says nothing about instances; it only leaves a gap.
export class Accrual {
  private readonly byId = new Map<number, Tracked>();
  private readonly warnings: string[] = [];
  // The newest successful poll: its instances are billed up to now on each read.
  private pending: Poll | null = null;

  constructor(readonly intervalMs: number) {}

  add(poll: Poll): void {
    if (!poll.ok) return;
    const prev = this.pending;
    if (prev) {
      const listed = new Set(poll.instances.map((i) => i.id));
      for (const i of prev.instances) {
        const entry = this.byId.get(i.id)!;
        // A rate or state holds from the poll that reported it until the next one.
        if (poll.at - prev.at > this.limit()) this.unknown(entry, this.warnings, { from: prev.at, to: poll.at, why: "no successful poll" });
        else billSegment(entry.segments, i, prev.at, poll.at);
        if (!listed.has(i.id)) entry.destroyed_at = poll.at;
      }
    }
    for (const i of poll.instances) {
      const entry = this.byId.get(i.id) ?? { last: i, observed_since: poll.at, segments: [], unknown: [] };
      entry.last = i;
      entry.destroyed_at = undefined;
      this.byId.set(i.id, entry);
    }
    this.pending = poll;
  }

  // Every instance seen, with what it accrued up to `now`. The newest poll's state runs on to now,
  // but no further than a gap may reach. Nothing folded so far is changed.
  at(now: number): { instances: InstanceAccrual[]; warnings: string[] } {
    const warnings = [...this.warnings];
    const open = new Set(this.pending?.instances.map((i) => i.id));
    const instances = [...this.byId.values()].map((tracked) => {
      let { segments, unknown } = tracked;
      if (open.has(tracked.last.id)) {
        const cap = Math.min(now, this.pending!.at + this.limit());
        segments = [...segments];
        billSegment(segments, tracked.last, this.pending!.at, cap);
        if (now > cap) {
          unknown = [...unknown];
          this.unknown({ ...tracked, unknown }, warnings, { from: cap, to: now, why: "no successful poll since the last one" });
        }
      }
      return summarize({ ...tracked, segments, unknown });
    });
    return { instances, warnings };
  }

  private limit() {
    return GAP_INTERVALS * this.intervalMs;
  }

  private unknown(entry: Tracked, warnings: string[], { from, to, why }: { from: number; to: number; why: string }) {
    entry.unknown.push({ from, to });
    const i = entry.last;
    warnings.push(`instance ${i.id}${i.label ? ` (${i.label})` : ""}: ${why} from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}; not charged`);
  }
}

// All the polls at once, up to `now`.
export function accrueInstances({ polls, intervalMs, now }: { polls: Poll[]; intervalMs: number; now: number }): { instances: InstanceAccrual[]; warnings: string[] } {
  const accrual = new Accrual(intervalMs);
  for (const poll of polls) accrual.add(poll);
  return accrual.at(now);
}

// Adds [from, to) at the instance's rate, extending the last segment when nothing changed. The
// last segment is replaced, not changed: a read's copy of the list shares the others.
function billSegment(segments: Segment[], i: PolledInstance, from: number, to: number) {
  if (to <= from) return;
  const seg = { from, to, state: i.state, rate_usd_per_hour: rateOf(i), num_gpus: i.num_gpus ?? 0 };
  const prev = segments.at(-1);
  const same = prev && prev.to === from && prev.state === seg.state && prev.rate_usd_per_hour === seg.rate_usd_per_hour && prev.num_gpus === seg.num_gpus;
  if (same) segments[segments.length - 1] = { ...prev, to };
  else segments.push(seg);
}

function summarize({ last, observed_since, destroyed_at, segments, unknown }: Tracked): InstanceAccrual {
  const hours = (s: Segment) => (s.to - s.from) / HOUR_MS;
  let usd = 0;
  let running = 0;
  let gpuHours = 0;
  for (const s of segments) {
    usd += hours(s) * s.rate_usd_per_hour;
    if (s.state !== "running") continue;
    running += hours(s);
    gpuHours += hours(s) * s.num_gpus;
  }
  return {
    id: last.id,
    label: last.label,
    state: last.state,
    dph_total: last.dph_total,
    storage_total_cost: last.storage_total_cost,
    num_gpus: last.num_gpus,
    start_date: last.start_date ?? null,
    gpu_name: last.gpu_name ?? null,
    ssh_host: last.ssh_host ?? null,
    ssh_port: last.ssh_port ?? null,
    observed_since,
    ...(destroyed_at === undefined ? {} : { destroyed_at }),
    spent_usd: usd,
    accrued_usd: toCents(usd),
    running_hours: round(running, 4),
    gpu_hours: round(gpuHours, 4),
    unknown,
    segments,
  };
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
    // Segments are sorted and cuts ascend, so the segment holding a cut is found walking forward.
    let s = 0;
    for (let c = 0; c + 1 < cuts.length; c++) {
      const [from, to] = [cuts[c], cuts[c + 1]];
      while (s < instance.segments.length && instance.segments[s].to <= from) s++;
      const seg = instance.segments[s];
      if (!seg || seg.from > from) continue;
      const active = on.filter((l) => l.windows.some((w) => w.from <= from && to <= w.to));
      if (!active.length) continue;
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
