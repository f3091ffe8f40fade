import "server-only";
import path from "node:path";
import { watch, type FSWatcher } from "chokidar";
import { listArtifacts } from "@/lib/data/artifacts";
import { loadConfig } from "@/lib/data/config";
import { loadEvaluations } from "@/lib/data/evaluations";
import { forgetRealPaths, mib } from "@/lib/data/file-cache";
import { countSamples } from "@/lib/data/samples";
import { validateJsonl } from "@/lib/data/validate-jsonl";
import { getEnv } from "@/lib/env";
import { configureFleet, hostMirrorDir, onRemoteRuns } from "@/lib/hosts/fleet";
import { loadVastPolls, subscribeBilling, vastPollsNow } from "@/lib/billing/poller";
import { idleGpusNow } from "@/lib/gpu/idle";
import { appendAll, describeError, isMissing, storeFailure } from "@/lib/errors";
import { publishEvent } from "@/lib/events";
import { appendHistory, EMPTY_HISTORY, type HistoryAggregate, type HistoryEntry } from "@/lib/history";
import { deriveSnapshot, type DataDirInputs, type Snapshot } from "@/lib/models";
import { EMPTY_RUN, readModelRun, type ModelRun } from "@/lib/runs/model-run";
import { listRunFolders } from "@/lib/runs/scan";
import type { ModelStatus } from "@/lib/schemas/api";
import type { SampleCount } from "@/lib/schemas/sample-count";
import { heldJobs, PROCESS_ID, STATUS_CHANNEL, subscribeNotices, UPKEEP_JOB } from "@/lib/store/coordination";
import { getStoreCreatedAt } from "@/lib/store/db";
import { firstSeen, loadSightings, saveSightings, type Sightings } from "@/lib/store/first-seen";
import { loadSampleCounts, saveSampleCount } from "@/lib/store/sample-counts";
import { insertStatusUpdate, listStatusUpdates, type StatusNotice, type StatusUpdate } from "@/lib/store/status-updates";

// The one owner of what the dashboard shows. Sources push into it: data-dir changes (a watcher,
// and a stat sweep every AFS_RESCAN_SECONDS where no events arrive), status writes (applied as
// they are acknowledged, here or, on PostgreSQL, by another process on the same database), and
// the clock (GPU hours accrue, runs go stale). Route handlers and the page only read its current
// snapshot, so a read costs no I/O. What it needs from the store (the status history, sample
// counts, first sightings) is read once, when the first read needs it, and again after a
// failed try: a store that is down at start is used once it is back.
//
// A process that never starts it (vitest, a script) gets the same state refreshed on each read.

// The first scan's progress, the JSONL bytes read to count samples since start, and how many
// training files still wait for their JSON check.
export type ScanProgress = { state: "scanning" | "ready"; files_done: number; files_total: number; bytes_read: number; checking: number };

type State = {
  id: string;
  dataDir: string;
  live: boolean;
  // Resolves once the store's part is read (the fields below it, then `storeRead` is true); null
  // until tried, or after a try failed.
  loaded: Promise<void> | null;
  storeRead: boolean;
  histories: Map<string, HistoryAggregate>;
  // Per model, the id of the newest stored update folded in, and how many re-reads of its
  // history were started (the newest one wins).
  lastIds: Map<string, number>;
  rereads: Map<string, number>;
  // Stored updates folded in so far, so a full re-read can tell that one landed meanwhile.
  folded: number;
  sampleCounts: Map<string, SampleCount>;
  sightings: Sightings;
  storeCreatedAt: string;
  inputs: DataDirInputs | null;
  snapshot: Snapshot | null;
  fingerprint: string;
  scan: ScanProgress;
  firstScan: Promise<void>;
  // Resolves FIRST_SCAN_WAIT_MS after the first snapshot (a partial one while the first scan
  // goes on included): how long reads wait for the first scan, once.
  firstWait: Promise<void>;
  showFirstSnapshot: () => void;
  refreshing: Promise<void> | null;
  refreshAgain: boolean;
  // JSONL files whose lines are being checked as JSON, off the request path, and the queue.
  checking: Set<string>;
  checks: Promise<void>;
  // Statuses from run files not stored yet: shown at once, stored in order, and kept while the
  // store refuses them (full, read-only, unreachable) until it takes them.
  unrecorded: (HistoryEntry & { model_key: string })[];
  recording: Promise<void> | null;
  recordFailed: boolean;
  // Writes in flight that no read waits for (sightings, sample counts, statuses from run files).
  writes: Set<Promise<unknown>>;
  stop: () => Promise<void>;
};

const TICK_MS = 1000;
const FIRST_SCAN_WAIT_MS = 1000;
const WATCH_DEBOUNCE_MS = 50;

const g = globalThis as typeof globalThis & { __afsState?: State };

// The current snapshot: at once once the first scan is done. Before then it waits for the scan,
// but no longer than FIRST_SCAN_WAIT_MS past the first snapshot: a data dir that takes minutes
// to read (a 20 GB file) must not keep every page waiting. That snapshot says what it has not
// read yet.
export async function getState(): Promise<Snapshot> {
  const state = ensureState();
  await loadFromStore(state);
  if (state.live) await Promise.race([state.firstScan, state.firstWait]);
  // Without the sources running (or after a first scan that failed), the read refreshes itself,
  // and stores what it found before answering, as a server would within moments.
  if (!state.live || !state.snapshot) await refresh(state, { checkNow: !state.live });
  if (!state.live) await settled(state);
  return state.snapshot!;
}

// How far the first scan is; never waits.
export function getScanProgress(): ScanProgress {
  return { ...ensureState().scan };
}

// Like getState, but never waits for the first scan: null until it has produced a snapshot.
export async function getStateIfReady(): Promise<Snapshot | null> {
  const state = ensureState();
  return state.live ? state.snapshot : getState();
}

// Stores a status update and applies it before returning, so the next read shows it. Nothing is
// applied unless the store took it.
export async function applyStatusUpdate(update: Omit<HistoryEntry, "at"> & { model_key: string }): Promise<ModelStatus | null> {
  const state = ensureState();
  await loadFromStore(state);
  const entry = await insertStatusUpdate({ ...update, at: new Date().toISOString() });
  await foldStored(state, entry);
  derive(state, Date.now(), new Set([entry.model_key]));
  return state.snapshot?.models.find((m) => m.key === update.model_key) ?? null;
}

// Starts the sources that keep the state current without reads: the watcher, the sweep, the
// clock. Called once per server.
export function startLiveState(): void {
  const state = ensureState();
  if (state.live) return;
  state.live = true;
  const { rescanMs, watch: watching } = getEnv();
  // Other processes' status writes, on PostgreSQL; after a reconnect the history is read again.
  const unsubscribe = subscribeNotices({
    channel: STATUS_CHANNEL,
    // Statuses from run files are not taken from others: this process reads the same files.
    onNotice: (payload) => {
      const { origin, update } = JSON.parse(payload) as StatusNotice;
      if (origin === PROCESS_ID || update.source === "run" || !state.storeRead) return;
      foldStored(state, update)
        .then(() => derive(state, Date.now(), new Set([update.model_key])))
        .catch((error) => console.error(`[afs] reading the status history of ${update.model_key}: ${describeError(error)}`));
    },
    onResync: () => void reloadHistories(state).catch((error) => console.error(`[afs] reading the status history: ${describeError(error)}`)),
  });
  // A refresh nobody awaits must not take the process down; the next one tries again. None
  // starts before the store's part is read: a store that is down holds them back until it is back.
  const refreshInBackground = () =>
    loadFromStore(state)
      .then(() => refresh(state, { checkNow: false }))
      .catch((error) => storeFailure(error) || console.error("[afs] refreshing the data dir:", error));
  const schedule = debounce(refreshInBackground, WATCH_DEBOUNCE_MS);
  // Run files copied from remote hosts land under .afs/, which the watcher leaves out.
  onRemoteRuns(schedule);
  const unsubscribeBilling = subscribeBilling(() => derive(state, Date.now()));
  let watcher: FSWatcher | null = null;
  let watcherReady = Promise.resolve();
  if (watching) {
    // Links are not followed: a loop would be walked without end, and what a link inside the
    // data dir leads to is seen by the sweep.
    watcher = watch(state.dataDir, { ignoreInitial: true, followSymlinks: false, ignored: (p) => path.basename(p) === ".afs", depth: 8 });
    watcher.on("all", schedule);
    watcher.on("error", (error) => console.error("[afs] data-dir watcher:", error));
    // Changes made while the watcher was setting up are caught by one more refresh once it is.
    watcherReady = new Promise<void>((resolve) => watcher!.once("ready", () => resolve())).then(schedule);
  }
  const sweep = setInterval(refreshInBackground, rescanMs);
  // While the first scan reads, the tick also shows what it has read so far.
  const tick = setInterval(() => state.inputs && (!state.refreshing || state.scan.state === "scanning") && derive(state, Date.now()), TICK_MS);
  sweep.unref();
  tick.unref();
  state.stop = async () => {
    unsubscribe();
    unsubscribeBilling();
    clearInterval(sweep);
    clearInterval(tick);
    await watcher?.close();
  };
  state.firstScan = Promise.all([refreshInBackground(), watcherReady]).then(() => undefined);
}

// Ends the state of this process (its watcher and timers); the next read starts a new one.
export async function stopLiveState(): Promise<void> {
  const state = g.__afsState;
  g.__afsState = undefined;
  await state?.stop();
  if (state) await settled(state);
}

async function settled(state: State) {
  while (state.writes.size) await Promise.all(state.writes);
}

// A write nobody awaits: its failure is logged unless it is the store being away.
function inBackground(state: State, what: string, write: Promise<unknown>) {
  const tracked = write.catch((error) => storeFailure(error) || console.error(`[afs] ${what}:`, error)).finally(() => state.writes.delete(tracked));
  state.writes.add(tracked);
}

function ensureState(): State {
  const { dataDir, storeLabel } = getEnv();
  const id = `${dataDir}\0${storeLabel}`;
  if (g.__afsState?.id === id) return g.__afsState;
  void g.__afsState?.stop();
  let showFirstSnapshot = () => {};
  const firstWait = new Promise<void>((resolve) => (showFirstSnapshot = resolve)).then(() => new Promise<void>((r) => setTimeout(r, FIRST_SCAN_WAIT_MS)));
  const state: State = {
    id,
    dataDir,
    live: false,
    loaded: null,
    storeRead: false,
    histories: new Map(),
    lastIds: new Map(),
    rereads: new Map(),
    folded: 0,
    sampleCounts: new Map(),
    sightings: { seen: new Map(), unsaved: new Map() },
    storeCreatedAt: "",
    inputs: null,
    snapshot: null,
    fingerprint: "",
    scan: { state: "scanning", files_done: 0, files_total: 0, bytes_read: 0, checking: 0 },
    firstScan: Promise.resolve(),
    firstWait,
    showFirstSnapshot,
    refreshing: null,
    refreshAgain: false,
    checking: new Set(),
    checks: Promise.resolve(),
    unrecorded: [],
    recording: null,
    recordFailed: false,
    writes: new Set(),
    stop: async () => {},
  };
  g.__afsState = state;
  return state;
}

function loadFromStore(state: State): Promise<void> {
  state.loaded ??= (async () => {
    const [counts, sightings, storeCreatedAt] = await Promise.all([loadSampleCounts(), loadSightings(), getStoreCreatedAt(), reloadHistories(state), loadVastPolls()]);
    state.sampleCounts = counts;
    state.sightings = sightings;
    state.storeCreatedAt = storeCreatedAt;
    state.storeRead = true;
  })().catch((error) => {
    state.loaded = null;
    throw error;
  });
  return state.loaded;
}

// The only full read of the history (and again after the notices may have been missed): from
// here on it is folded as it is appended. Statuses not stored yet are folded again on top; the
// models whose history changed go out on the live stream.
async function reloadHistories(state: State) {
  // A write folded in while the history was read may be missing from it: read again (a few
  // times at most, so a busy store cannot keep it reading).
  let updates: StatusUpdate[] = [];
  for (let tries = 0, folded = -1; tries < 3 && folded !== state.folded; tries++) {
    folded = state.folded;
    updates = await listStatusUpdates();
  }
  const previous = state.histories;
  state.histories = new Map();
  state.lastIds = new Map();
  for (const update of updates) {
    fold(state, update);
    state.lastIds.set(update.model_key, update.id);
  }
  for (const entry of state.unrecorded) fold(state, entry);
  const changed = [...state.histories.keys()].filter((key) => JSON.stringify(state.histories.get(key)) !== JSON.stringify(previous.get(key)));
  if (state.inputs) derive(state, Date.now(), new Set(changed));
}

// A stored update, folded in id order: one that arrives after a newer one of the same model
// (concurrent writers, here or in another process) has that model's history read again.
async function foldStored(state: State, update: StatusUpdate) {
  const last = state.lastIds.get(update.model_key) ?? 0;
  if (update.id === last) return;
  state.folded++;
  if (update.id > last) {
    fold(state, update);
    state.lastIds.set(update.model_key, update.id);
    return;
  }
  const reread = (state.rereads.get(update.model_key) ?? 0) + 1;
  state.rereads.set(update.model_key, reread);
  const updates = await listStatusUpdates({ model: update.model_key });
  if (state.rereads.get(update.model_key) !== reread) return;
  let history = EMPTY_HISTORY;
  for (const u of updates) history = appendHistory(history, u);
  state.histories.set(update.model_key, history);
  state.lastIds.set(update.model_key, updates.at(-1)?.id ?? 0);
}

function fold(state: State, entry: HistoryEntry & { model_key: string }) {
  state.histories.set(entry.model_key, appendHistory(state.histories.get(entry.model_key) ?? EMPTY_HISTORY, entry));
}

// Re-reads what changed in the data dir (files are read incrementally or not at all when
// unchanged), then derives a new snapshot. One at a time: a refresh asked for during another
// runs once more after it. With checkNow, JSONL lines are checked before it resolves.
function refresh(state: State, { checkNow }: { checkNow: boolean }): Promise<void> {
  if (state.refreshing) {
    state.refreshAgain = true;
    return state.refreshing;
  }
  state.refreshing = (async () => {
    try {
      do {
        state.refreshAgain = false;
        state.inputs = await readInputs(state, { checkNow });
        state.scan.state = "ready";
        derive(state, Date.now());
      } while (state.refreshAgain && state.live);
    } finally {
      state.refreshing = null;
    }
  })();
  return state.refreshing;
}

async function readInputs(state: State, { checkNow }: { checkNow: boolean }): Promise<DataDirInputs> {
  const { dataDir } = state;
  forgetRealPaths();
  const [{ config, warnings }, evals] = await Promise.all([loadConfig({ dataDir }), loadEvaluations({ dataDir })]);
  appendAll(warnings, evals.warnings);
  const models = config.models;
  // A model's runs are read where its host's run files are: the data dir, or the copy of a
  // remote host's (over SSH; a dcgm-exporter host has only GPUs, its models' runs stay local).
  const runRoots = new Map<string, { root: string; folders: Set<string> }>();
  for (const root of new Set(models.map((m) => runRoot({ dataDir, config, host: m.host })))) {
    runRoots.set(root, { root, folders: await listRunFolders({ dataDir: root }) });
  }
  const runsOf = (model: (typeof models)[number]) => {
    const { root, folders } = runRoots.get(runRoot({ dataDir, config, host: model.host }))!;
    return folders.has(model.key) ? root : null;
  };
  if (state.scan.state === "scanning") state.scan.files_total = 2 + models.length + models.filter((m) => runsOf(m)).length;
  const done = () => state.scan.state === "scanning" && state.scan.files_done++;
  done();
  done();
  const runs = new Map<string, ModelRun>();
  const samples = new Map<string, SampleCount | null>();
  const artifacts: DataDirInputs["artifacts"] = new Map();
  const inputs: DataDirInputs = { dataDir, config, evaluations: evals.evaluations, runs, samples, artifacts, warnings };
  if (state.scan.state === "scanning" && state.live) {
    // The first scan is shown as it goes: models not read yet have no run, and the sample count
    // the store kept from the last process (right unless the file changed since).
    for (const model of models) {
      runs.set(model.key, EMPTY_RUN);
      samples.set(model.key, state.sampleCounts.get(samplesFile(dataDir, model.key)) ?? null);
    }
    state.inputs = inputs;
    derive(state, Date.now());
  }
  // One model at a time: a cold start over many large files must not hold a read buffer per
  // model at once.
  for (const model of models) {
    let run = EMPTY_RUN;
    const root = runsOf(model);
    if (root) {
      run = await readModelRun({ dataDir: root, key: model.key, aliases: model.metrics });
      done();
    }
    runs.set(model.key, run);
    appendAll(warnings, run.warnings.map((w) => `${model.key}: ${w}`));
    samples.set(model.key, await readSamples({ state, key: model.key, warnings, checkNow }));
    done();
    if (model.artifacts) {
      const listing = await listArtifacts({ dataDir, folder: model.artifacts });
      artifacts.set(model.key, listing);
    }
  }
  return inputs;
}

function runRoot({ dataDir, config, host }: { dataDir: string; config: DataDirInputs["config"]; host: string }): string {
  const remote = config.hosts.find((h) => h.name === host && h.source === "ssh" && h.runs);
  return remote ? hostMirrorDir({ dataDir, host }) : dataDir;
}

function samplesFile(dataDir: string, key: string): string {
  return path.join(dataDir, "models", `${key}_merged.jsonl`);
}

async function readSamples({ state, key, warnings, checkNow }: { state: State; key: string; warnings: string[]; checkNow: boolean }) {
  const name = `models/${key}_merged.jsonl`;
  const file = samplesFile(state.dataDir, key);
  try {
    const { count, bytes_read: bytesRead } = await countSamples({ path: file, root: state.dataDir, previous: state.sampleCounts.get(file) ?? null });
    state.scan.bytes_read += bytesRead;
    if (count !== state.sampleCounts.get(file)) remember(state, file, count);
    if (count.checked_offset < count.tail_offset) {
      const check = checkLines({ state, key, file });
      if (checkNow) await check;
    }
    // A last line that long is no sample being written but a broken file; it is never read whole.
    const { lineBytes } = getEnv().limits;
    if (count.partial_line && count.size - count.tail_offset > lineBytes) {
      warnings.push(`${name}: its last line is over AFS_MAX_LINE_BYTES (${mib(lineBytes)}) and unfinished (malformed)`);
    }
    return state.sampleCounts.get(file)!;
  } catch (error) {
    // No training file yet is normal for a pending model; anything else is worth a warning.
    if (!isMissing(error)) warnings.push(`${name}: ${describeError(error)}`);
    return null;
  }
}

function remember(state: State, file: string, count: SampleCount) {
  state.sampleCounts.set(file, count);
  // A store that cannot take it only means the count is redone after a restart.
  inBackground(state, `saving the sample count of ${file}`, saveSampleCount({ path: file, count }));
}

// Checks a file's unchecked lines as JSON on a worker thread, one file at a time; its findings
// reach the snapshot (warnings) when done.
function checkLines({ state, key, file }: { state: State; key: string; file: string }): Promise<void> {
  if (state.checking.has(file)) return state.checks;
  state.checking.add(file);
  state.scan.checking = state.checking.size;
  state.checks = state.checks.then(async () => {
    try {
      const count = state.sampleCounts.get(file)!;
      const result = await validateJsonl({
        path: file,
        ino: count.ino,
        from: count.checked_offset,
        to: count.tail_offset,
        maxLine: getEnv().limits.lineBytes,
        previous: count,
      });
      const latest = state.sampleCounts.get(file);
      // The file may have changed meanwhile; then the next refresh checks what is left.
      if (latest && latest.ino === count.ino && latest.checked_offset === count.checked_offset) {
        remember(state, file, { ...latest, ...result });
        if (state.inputs?.samples.has(key)) {
          state.inputs.samples.set(key, state.sampleCounts.get(file)!);
          derive(state, Date.now());
        }
      }
    } catch (error) {
      console.error(`[afs] checking ${file}:`, error);
    } finally {
      state.checking.delete(file);
      state.scan.checking = state.checking.size;
    }
  });
  return state.checks;
}

// A new snapshot from the current inputs and histories, kept only if what it shows changed, so
// an unchanged state keeps its answers (and their ETags). Status changes the run files call for
// are recorded here, once, and go out on the live stream with those of the `changed` models.
function derive(state: State, now: number, changed = new Set<string>()) {
  if (!state.inputs || !state.storeRead) return;
  const { vastai, staleMs, idle } = getEnv();
  const next = deriveSnapshot({
    inputs: state.inputs,
    histories: state.histories,
    now,
    staleMs,
    firstSeen: ({ key, subject }) => firstSeen(state.sightings, { key, subject, now }),
    record: (entry) => {
      state.unrecorded.push(entry);
      fold(state, entry);
      changed.add(entry.model_key);
    },
    vast: vastai && { polls: vastPollsNow()!, ssh: vastai.ssh },
    idle: idleGpusNow({ now, forMs: idle.ms }),
  });
  recordInBackground(state);
  if (state.sightings.unsaved.size) inBackground(state, "saving first sightings", saveSightings(state.sightings));
  if (state.recordFailed) {
    appendAll(next.warnings, state.unrecorded.map((e) => `${e.model_key}: status from run files not recorded yet: the store refuses writes`));
  }
  if (state.scan.state === "scanning") {
    const { files_done: done, files_total: total } = state.scan;
    next.warnings.push(`data dir: still reading it (${done} of ${total} files); models not read yet show no curves or run status, and their last known sample counts`);
  }
  // What billing shows (not its segments, which only make up the sums shown).
  const { models: _, instances, ...billing } = next.billing;
  const shown = instances.map(({ segments: _s, unknown: _u, ...i }) => i);
  const fingerprint = JSON.stringify([next.models, next.warnings, next.estimate, next.evaluations, [...next.artifacts], billing, shown, next.idle]);
  const previousIdle = state.snapshot?.idle ?? [];
  // The fleet reads the config's hosts and vast.ai's instances.
  if (next.config !== state.snapshot?.config) configureFleet({ dataDir: state.dataDir, config: next.config });
  if (fingerprint !== state.fingerprint || next.config !== state.snapshot?.config) {
    state.fingerprint = fingerprint;
    state.snapshot = { ...next, store_created_at: state.storeCreatedAt, now };
    state.showFirstSnapshot();
  }
  for (const m of state.snapshot!.models) if (changed.has(m.key)) publishEvent({ type: "status", data: m });
  for (const gpu of next.idle) {
    if (previousIdle.some((p) => p.host === gpu.host && p.index === gpu.index && p.since === gpu.since)) continue;
    publishEvent({ type: "idle_gpu", data: { host: gpu.host, index: gpu.index, since: new Date(gpu.since).toISOString(), usd_per_hour: gpu.usd_per_hour } });
  }
}

// Stores the statuses from run files in order, one write at a time; one the store refuses stays
// first in line for the next derivation (every tick) to try again. Reads must not go down for it.
// Every server on one database reads the same files: the one that holds the upkeep job stores
// them, the others only show them.
function recordInBackground(state: State) {
  if (state.recording || !state.unrecorded.length) return;
  if (state.live && getEnv().store.engine === "postgres" && !heldJobs().includes(UPKEEP_JOB)) {
    state.unrecorded = [];
    return;
  }
  const recording = (async () => {
    try {
      while (state.unrecorded.length) {
        await insertStatusUpdate(state.unrecorded[0]);
        state.unrecorded.shift();
      }
      state.recordFailed = false;
    } catch (error) {
      if (!storeFailure(error)) console.error("[afs] recording a status from run files:", error);
      state.recordFailed = true;
    } finally {
      state.recording = null;
    }
  })();
  state.recording = recording;
  inBackground(state, "recording statuses", recording);
}

function debounce(fn: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout | null = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}
