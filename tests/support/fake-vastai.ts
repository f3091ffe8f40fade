import http from "node:http";
import type { AddressInfo } from "node:net";

// A stand-in for vast.ai's GET /api/v1/instances/, shaped after vast-cli's client
// (vastai/api/instances.py show_instances, vastai/api/client.py): Bearer key, rows in id
// order, at most 25 a page (`limit`), a next_token to pass back as after_token, and
// total_instances / label_counts beside them. No real capture exists here, so the rows are
// built from the field names vast-cli reads and displays, with realistic values.

// "real" answers as vast would; it lets a fault wait for a later page.
export type FakeAnswer =
  | { kind: "real" }
  | { kind: "status"; status: number; retryAfter?: string }
  | { kind: "malformed" }
  | { kind: "hang" };

export type RecordedRequest = { path: string; query: Record<string, string>; authorization: string | undefined; at: number };

export type FakeVastai = {
  url: string;
  apiKey: string;
  requests: RecordedRequest[];
  setInstances: (instances: Record<string, unknown>[]) => void;
  // The next answers, in order, instead of the real one.
  queueAnswers: (...answers: FakeAnswer[]) => void;
  // A broken server: every page hands back the same next_token.
  loopNextToken: (on: boolean) => void;
  close: () => Promise<void>;
};

const MAX_LIMIT = 25;

export async function startFakeVastai({ apiKey = "4f9c1e0b7a2d48c6b3e5f7a9c1d3e5f70a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d" } = {}): Promise<FakeVastai> {
  let instances: Record<string, unknown>[] = [];
  let looping = false;
  const queued: FakeAnswer[] = [];
  const requests: RecordedRequest[] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), authorization: req.headers.authorization, at: Date.now() });
    const answer = queued.shift();
    if (answer?.kind === "hang") return;
    if (answer?.kind === "malformed") return void res.writeHead(200, { "content-type": "application/json" }).end('{"instances": [{"id": 1');
    if (answer?.kind === "status") {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (answer.retryAfter !== undefined) headers["retry-after"] = answer.retryAfter;
      return void res.writeHead(answer.status, headers).end(JSON.stringify({ success: false, error: `status ${answer.status}` }));
    }
    if (url.pathname !== "/api/v1/instances/") return void res.writeHead(404).end();
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return void res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ success: false, error: "invalid_api_key", msg: "Invalid API key." }));
    }
    const limit = Math.min(MAX_LIMIT, Number(url.searchParams.get("limit") ?? MAX_LIMIT) || MAX_LIMIT);
    const afterId = decodeToken(url.searchParams.get("after_token"));
    const rest = instances.filter((row) => afterId === null || (row.id as number) > afterId);
    const page = rest.slice(0, limit);
    const more = rest.length > limit;
    const next_token = looping ? encodeToken(0) : more ? encodeToken(page[page.length - 1].id as number) : null;
    const label_counts: Record<string, number> = {};
    for (const row of instances) if (typeof row.label === "string") label_counts[row.label] = (label_counts[row.label] ?? 0) + 1;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ instances: page, next_token, total_instances: instances.length, label_counts }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    setInstances: (list) => {
      instances = [...list].sort((a, b) => (a.id as number) - (b.id as number));
    },
    queueAnswers: (...answers) => queued.push(...answers),
    loopNextToken: (on) => {
      looping = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// Opaque to the client, as vast's are.
function encodeToken(afterId: number): string {
  return Buffer.from(JSON.stringify({ after_id: afterId })).toString("base64url");
}

function decodeToken(token: string | null): number | null {
  if (!token) return null;
  return (JSON.parse(Buffer.from(token, "base64url").toString()) as { after_id: number }).after_id;
}

const GPUS = {
  "RTX 4090": { gpu_ram: 24564, dph_total: 0.45, storage_total_cost: 0.0104, cpu_ram: 64302, disk_space: 50 },
  H100_SXM: { gpu_ram: 81559, dph_total: 2.1, storage_total_cost: 0.012, cpu_ram: 257743, disk_space: 100 },
} as const;

// One instance row with the fields vast's list carries (a subset of the ~100 it sends; the
// client must ignore the rest). `overrides` replaces or adds fields.
export function vastInstanceRow({
  id,
  gpu = "RTX 4090",
  overrides = {},
}: {
  id: number;
  gpu?: keyof typeof GPUS;
  overrides?: Record<string, unknown>;
}): Record<string, unknown> {
  const spec = GPUS[gpu];
  return {
    id,
    machine_id: 10_000 + (id % 9_000),
    host_id: 52_000 + (id % 700),
    label: null,
    actual_status: "running",
    intended_status: "running",
    cur_state: "running",
    next_state: "running",
    status_msg: "success, running pytorch/pytorch_2.4.0-cuda12.1-cudnn9-devel/ssh",
    gpu_name: gpu,
    num_gpus: 1,
    gpu_util: 97.0,
    gpu_temp: 64.0,
    gpu_ram: spec.gpu_ram,
    gpu_totalram: spec.gpu_ram,
    cpu_cores_effective: 16.0,
    cpu_ram: spec.cpu_ram,
    disk_space: spec.disk_space,
    disk_util: 12.4,
    dph_base: spec.dph_total - spec.storage_total_cost,
    dph_total: spec.dph_total,
    storage_cost: 0.15,
    storage_total_cost: spec.storage_total_cost,
    inet_up_cost: 0.0039,
    inet_down_cost: 0.0039,
    start_date: 1764460800.183452,
    end_date: 1767052800.0,
    duration: 86_400.0,
    image_uuid: "pytorch/pytorch:2.4.0-cuda12.1-cudnn9-devel",
    image_runtype: "ssh",
    extra_env: [["-p 8080:8080", "1"]],
    ssh_host: `ssh${(id % 9) + 1}.vast.ai`,
    ssh_idx: String((id % 9) + 1),
    ssh_port: 20_000 + (id % 10_000),
    public_ipaddr: "174.93.120.47",
    ports: { "22/tcp": [{ HostIp: "0.0.0.0", HostPort: "40122" }] },
    geolocation: "Quebec, CA",
    reliability2: 0.9978,
    inet_up: 812.4,
    inet_down: 904.7,
    template_id: 287_054,
    ...overrides,
  };
}
