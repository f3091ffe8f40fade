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
import { appendAll, describeError, isMissing, storeFailure } from "@/lib/errors";
import { publishEvent } from "@/lib/events";
import { appendHistory, EMPTY_HISTORY, type HistoryAggregate, type HistoryEntry } from "@/lib/history";
import { deriveSnapshot, type DataDirInputs, type Snapshot } from "@/lib/models";
import { EMPTY_RUN, readModelRun, type ModelRun } from "@/lib/runs/model-run";
import { listRunFolders } from "@/lib/runs/scan";
import type { ModelStatus } from "@/lib/schemas/api";
import type { SampleCount } from "@/lib/schemas/sample-count";
import { firstSeen, saveFirstSeen } from "@/lib/store/first-seen";
import { loadSampleCounts, saveSampleCount } from "@/lib/store/sample-counts";
import { insertStatusUpdate, listStatusUpdates } from "@/lib/store/status-updates";

// The one owner of what the dashboard shows. Sources push into it: data-dir changes (a watcher,
// and a stat sweep every AFS_RESCAN_SECONDS where no events arrive), status writes (applied as
// they are acknowledged), and the clock (GPU hours accrue, runs go stale). Route handlers and the
// page only read its current snapshot, so a read costs no I/O.
//
// A process that never starts it (vitest, a script) gets the same state refreshed on each read.

// The first scan's progress, the JSONL bytes read to count samples since start, and how many
// training files still wait for their JSON check.
export type ScanProgress = { state: "scanning" | "ready"; files_done: number; files_total: number; bytes_read: number; checking: number };

type State = {
  id: string;
  dataDir: string;
  live: boolean;
  histories: Map<string, HistoryAggregate>;
  sampleCounts: Map<string, SampleCount>;
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
  // Statuses from run files the store refused (full, read-only): shown, and stored once it can.
  unrecorded: (HistoryEntry & { model_key: string })[];
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
  if (state.live) await Promise.race([state.firstScan, state.firstWait]);
  // Without the sources running (or after a first scan that failed), the read refreshes itself.
  if (!state.live || !state.snapshot) await refresh(state, { checkNow: !state.live });
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

// Stores a status update and applies it before returning, so the next read shows it.
export function applyStatusUpdate(update: Omit<HistoryEntry, "at"> & { model_key: string }): ModelStatus | null {
  const state = ensureState();
  const entry = { ...update, at: new Date().toISOString() };
  insertStatusUpdate(entry);
  fold(state, entry);
  derive(state, Date.now());
  return state.snapshot?.models.find((m) => m.key === update.model_key) ?? null;
}

// Starts the sources that keep the state current without reads: the watcher, the sweep, the
// clock. Called once per server.
export function startLiveState(): void {
  const state = ensureState();
  if (state.live) return;
  state.live = true;
  const { rescanMs, watch: watching } = getEnv();
  // A refresh nobody awaits must not take the process down; the next one tries again.
  const refreshInBackground = () => refresh(state, { checkNow: false }).catch((error) => console.error("[afs] refreshing the data dir:", error));
  const schedule = debounce(refreshInBackground, WATCH_DEBOUNCE_MS);
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
}

function ensureState(): State {
  const { dataDir, dbPath } = getEnv();
  const id = `${dataDir}\0${dbPath}`;
  if (g.__afsState?.id === id) return g.__afsState;
  void g.__afsState?.stop();
  let showFirstSnapshot = () => {};
  const firstWait = new Promise<void>((resolve) => (showFirstSnapshot = resolve)).then(() => new Promise<void>((r) => setTimeout(r, FIRST_SCAN_WAIT_MS)));
  const state: State = {
    id,
    dataDir,
    live: false,
    histories: new Map(),
    sampleCounts: loadSampleCounts(),
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
    stop: async () => {},
  };
  // The only full read of the history: from here on it is folded as it is appended.
  for (const update of listStatusUpdates()) fold(state, update);
  g.__afsState = state;
  return state;
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
  const [{ config, warnings }, evals, runDirs] = await Promise.all([loadConfig({ dataDir }), loadEvaluations({ dataDir }), listRunFolders({ dataDir })]);
  appendAll(warnings, evals.warnings);
  const models = config.models;
  if (state.scan.state === "scanning") state.scan.files_total = 2 + models.length + models.filter((m) => runDirs.has(m.key)).length;
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
    if (runDirs.has(model.key)) {
      run = await readModelRun({ dataDir, key: model.key, aliases: model.metrics });
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
  try {
    saveSampleCount({ path: file, count });
  } catch (error) {
    // A read-only store only means the count is redone after a restart.
    if (!storeFailure(error)) throw error;
  }
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
// are recorded here, once, and go out on the live stream.
function derive(state: State, now: number) {
  if (!state.inputs) return;
  state.unrecorded = state.unrecorded.filter((entry) => !tryInsert(entry));
  const changed = new Set<string>();
  const next = deriveSnapshot({
    inputs: state.inputs,
    histories: state.histories,
    now,
    staleMs: getEnv().staleMs,
    firstSeen: ({ key, subject }) => firstSeen({ key, subject, now }),
    record: (entry) => {
      if (!tryInsert(entry)) state.unrecorded.push(entry);
      fold(state, entry);
      changed.add(entry.model_key);
    },
  });
  saveFirstSeen();
  appendAll(next.warnings, state.unrecorded.map((e) => `${e.model_key}: status from run files not recorded yet: the store refuses writes`));
  if (state.scan.state === "scanning") {
    const { files_done: done, files_total: total } = state.scan;
    next.warnings.push(`data dir: still reading it (${done} of ${total} files); models not read yet show no curves or run status, and their last known sample counts`);
  }
  const fingerprint = JSON.stringify([next.models, next.warnings, next.estimate, next.evaluations, [...next.artifacts]]);
  if (fingerprint !== state.fingerprint || next.config !== state.snapshot?.config) {
    state.fingerprint = fingerprint;
    state.snapshot = { ...next, now };
    state.showFirstSnapshot();
  }
  for (const m of state.snapshot!.models) if (changed.has(m.key)) publishEvent({ type: "status", data: m });
}

// False when the store cannot take the write now (full, read-only): reads must not go down.
function tryInsert(entry: HistoryEntry & { model_key: string }): boolean {
  try {
    insertStatusUpdate(entry);
    return true;
  } catch (error) {
    if (!storeFailure(error)) throw error;
    return false;
  }
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
