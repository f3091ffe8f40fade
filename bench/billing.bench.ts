import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, test } from "vitest";
import { Accrual } from "@/lib/billing/accrual";
import { billFromPolls } from "@/lib/billing/bill";
import { loadVastPolls, vastPollsNow, type VastPolls } from "@/lib/billing/poller";
import { closeCurrentStore, getStore } from "@/lib/store/db";
import type { StoredInstance, StoredPoll } from "@/lib/store/vast-polls";
import { machine, percentile, timeMs } from "./report";

// What vast.ai billing costs the live state: each poll is folded once as it comes (at start, all
// stored ones), and every second derive works out each instance's and each model's spend up to
// now from the fold (lib/billing/bill.ts); a restart reads the polls back from the store. A fleet of 8 instances polled every 60 s (the default) for 1, 7 and 30
// days, stopping and starting every few hours, with 2 models on each.

const INSTANCES = 8;
const INTERVAL_MS = 60_000;
const NOW = Date.now();
const RUNS = 30;

function polls(days: number): StoredPoll[] {
  const count = (days * 86_400_000) / INTERVAL_MS;
  return Array.from({ length: count }, (_, n) => {
    const at = NOW - (count - n) * INTERVAL_MS;
    const instances: StoredInstance[] = Array.from({ length: INSTANCES }, (_, i) => ({
      id: 1000 + i,
      label: `box-${i}`,
      // stopped one hour in five, at different times per box
      state: Math.floor((n + i * 37) / 60) % 5 === 4 ? "stopped" : "running",
      dph_total: 2.1 + i * 0.1,
      storage_total_cost: 0.012,
      start_date: (NOW - 31 * 86_400_000) / 1000,
      num_gpus: 8,
      gpu_name: "H100_SXM",
      ssh_host: `ssh${i}.vast.ai`,
      ssh_port: 20_000 + i,
    }));
    return { at, state: "ok", reason: null, warnings: [], instances };
  });
}

const models = Array.from({ length: INSTANCES * 2 }, (_, m) => ({
  key: m % 2 ? `box-${m >> 1}` : `extra-${m}`,
  instance_id: m % 2 ? undefined : 1000 + (m >> 1),
  windows: [{ from: NOW - 20 * 86_400_000 + m * 3_600_000, to: null }],
}));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-billing-bench-"));

afterAll(async () => {
  await closeCurrentStore();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("vast.ai billing: the accrual each derive runs, and reading the polls back", async () => {
  console.log(`\nvast.ai billing (${machine()})`);
  console.log(`  ${INSTANCES} instances, 2 models each, polled every ${INTERVAL_MS / 1000} s`);
  for (const days of [1, 7, 30]) {
    const list = polls(days);
    const folded: VastPolls = { accrual: new Accrual(INTERVAL_MS), last: list.at(-1)!, last_ok: list.at(-1)! };
    const foldMs = await timeMs(() => list.forEach((p) => folded.accrual.add({ at: p.at, ok: true, instances: p.instances })));
    const ms: number[] = [];
    for (let r = 0; r < RUNS; r++) ms.push(await timeMs(() => billFromPolls({ polls: folded, models, now: NOW + r })));
    console.log(
      `  ${String(days).padStart(2)} days (${list.length} polls): folded in ${foldMs.toFixed(0)} ms; each derive's bill p50 ${percentile(ms, 50).toFixed(2)} ms,` +
        ` p99 ${percentile(ms, 99).toFixed(2)} ms (${((percentile(ms, 50) / 1000) * 100).toFixed(2)}% of a core at one a second)`,
    );
  }

  process.env.AFS_DB = path.join(dir, "afs.db");
  delete process.env.DATABASE_URL;
  const { db } = await getStore();
  const month = polls(30);
  for (let i = 0; i < month.length; i += 500) {
    const batch = month.slice(i, i + 500);
    await db.transaction().execute(async (trx) => {
      await trx.insertInto("vast_polls").values(batch.map((p) => ({ at: p.at, state: p.state, reason: p.reason, warnings: "[]" }))).execute();
      const rows = batch.flatMap((p) => p.instances.map((v) => ({ at: p.at, ...v })));
      for (let j = 0; j < rows.length; j += 1000) await trx.insertInto("vast_instances").values(rows.slice(j, j + 1000)).execute();
    });
  }
  process.env.AFS_VASTAI_API_KEY = "bench";
  // The longest gap between ticks of a 5 ms timer: how long the load held the event loop.
  let tick = performance.now();
  let stall = 0;
  const ticker = setInterval(() => {
    stall = Math.max(stall, performance.now() - tick);
    tick = performance.now();
  }, 5);
  const loadMs = await timeMs(() => loadVastPolls());
  clearInterval(ticker);
  const polled = vastPollsNow()!;
  if (polled.last?.at !== month.at(-1)!.at) throw new Error("the load did not reach the newest poll");
  console.log(
    `  30 days from SQLite at start (${month.length} polls, ${month.length * INSTANCES} rows): ${(loadMs / 1000).toFixed(2)} s,` +
      ` longest event-loop stall ${stall.toFixed(0)} ms`,
  );
  delete process.env.AFS_VASTAI_API_KEY;
});
