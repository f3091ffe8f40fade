import "server-only";
import os from "node:os";
import { describeError } from "@/lib/errors";
import { getEnv } from "@/lib/env";
import { hearHostView, subscribeHostViews, type HostView } from "@/lib/hosts/fleet";
import type { GpuSnapshot } from "@/lib/schemas/api";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { GPU_CHANNEL, notify, PROCESS_ID, subscribeNotices } from "@/lib/store/coordination";
import { receiveSharedGpuSnapshot, subscribeGpuSnapshots } from "./poller";

// A NOTIFY payload must stay under 8000 bytes.
const MAX_PAYLOAD = 7900;

// `machine` tells whose "local" a snapshot is; a remote host's comes with how it answers (`link`).
type Notice = { origin: string; machine: string; host: string; snapshot: GpuSnapshot; link?: Omit<HostView, "gpu"> };

// Several servers on one PostgreSQL store read each GPU once: this host's GPUs in one process per
// machine (the poller job), the remote hosts in one process per store (the fleet job). The one
// that reads sends each snapshot to the others, so every one of them answers the same live
// readings. Nothing to do on SQLite, where one process does everything.
export function shareGpuSnapshots(): void {
  if (getEnv().store.engine !== "postgres") return;
  const machine = os.hostname();
  const sending = new Set<string>();
  const send = (notice: Omit<Notice, "origin" | "machine">) => {
    if (sending.has(notice.host)) return;
    let payload = JSON.stringify({ origin: PROCESS_ID, machine, ...notice } satisfies Notice);
    // Many processes on many GPUs: the process lists go first, the readings always fit.
    if (payload.length > MAX_PAYLOAD) {
      const snapshot = { ...notice.snapshot, gpus: notice.snapshot.gpus.map((gpu) => ({ ...gpu, processes: [] })) };
      payload = JSON.stringify({ origin: PROCESS_ID, machine, ...notice, snapshot } satisfies Notice);
    }
    if (payload.length > MAX_PAYLOAD) return;
    sending.add(notice.host);
    notify(GPU_CHANNEL, payload)
      .catch((error) => console.error(`[afs] sharing gpu readings: ${describeError(error)}`))
      .finally(() => sending.delete(notice.host));
  };
  subscribeGpuSnapshots((snapshot) => snapshot.status !== "stopped" && send({ host: LOCAL_HOST, snapshot }));
  subscribeHostViews((host, { gpu, ...link }) => send({ host, snapshot: gpu, link }));
  subscribeNotices({
    channel: GPU_CHANNEL,
    onNotice: (payload) => {
      const notice = JSON.parse(payload) as Notice;
      if (notice.origin === PROCESS_ID) return;
      if (notice.host !== LOCAL_HOST) {
        if (notice.link) hearHostView(notice.host, { ...notice.link, gpu: notice.snapshot });
      } else if (notice.machine === machine) receiveSharedGpuSnapshot(notice.snapshot);
    },
  });
}
