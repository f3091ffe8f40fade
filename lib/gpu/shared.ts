import "server-only";
import os from "node:os";
import { describeError } from "@/lib/errors";
import { getEnv } from "@/lib/env";
import type { GpuSnapshot } from "@/lib/schemas/api";
import { GPU_CHANNEL, notify, PROCESS_ID, subscribeNotices } from "@/lib/store/coordination";
import { receiveSharedGpuSnapshot, subscribeGpuSnapshots } from "./poller";

// A NOTIFY payload must stay under 8000 bytes.
const MAX_PAYLOAD = 7900;

type Notice = { origin: string; host: string; snapshot: GpuSnapshot };

// Several servers on one host and one PostgreSQL store poll the GPUs once (the poller job): the
// one that polls sends each snapshot to the others, so every one of them answers the same live
// readings. Nothing to do on SQLite, where one process does everything.
export function shareGpuSnapshots(): void {
  if (getEnv().store.engine !== "postgres") return;
  const host = os.hostname();
  let sending = false;
  subscribeGpuSnapshots((snapshot) => {
    if (sending || snapshot.status === "stopped") return;
    let payload = JSON.stringify({ origin: PROCESS_ID, host, snapshot } satisfies Notice);
    // Many processes on many GPUs: the process lists go first, the readings always fit.
    if (payload.length > MAX_PAYLOAD) payload = JSON.stringify({ origin: PROCESS_ID, host, snapshot: { ...snapshot, gpus: snapshot.gpus.map((gpu) => ({ ...gpu, processes: [] })) } });
    if (payload.length > MAX_PAYLOAD) return;
    sending = true;
    notify(GPU_CHANNEL, payload)
      .catch((error) => console.error(`[afs] sharing gpu readings: ${describeError(error)}`))
      .finally(() => (sending = false));
  });
  subscribeNotices({
    channel: GPU_CHANNEL,
    onNotice: (payload) => {
      const notice = JSON.parse(payload) as Notice;
      if (notice.origin !== PROCESS_ID && notice.host === host) receiveSharedGpuSnapshot(notice.snapshot);
    },
  });
}
