import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { GET as getRegistry } from "@/app/api/models/registry/route";
import { GET as getFile } from "@/app/api/models/[key]/files/[name]/route";
import { call, makeDataDir, writeFile } from "../helpers";

const weights = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
let dir: string;

const download = (name: string, headers: Record<string, string> = {}) =>
  call(getFile, { params: { key: "alpha", name }, init: { headers } });

describe("registry and artifact downloads", () => {
  beforeEach(() => {
    dir = makeDataDir({
      models: [
        { key: "alpha", name: "Alpha", status: "completed", progress: 100, artifacts: "artifacts/alpha", deployment_status: "ready" },
        { key: "beta", name: "Beta", artifacts: "artifacts/missing" },
        { key: "gamma", name: "Gamma", artifacts: "artifacts/escape" },
      ],
      files: {
        "artifacts/alpha/model.safetensors": weights,
        "artifacts/alpha/config.json": "{}",
        "artifacts/alpha/nested/ignored.bin": "x",
        "secret.txt": "do not serve",
      },
    });
    fs.symlinkSync(path.join(dir, "secret.txt"), path.join(dir, "artifacts/alpha/link.txt"));
    fs.symlinkSync(os.tmpdir(), path.join(dir, "artifacts/escape"));
  });

  it("lists each model's regular files with sizes and download URLs, and warns about bad folders", async () => {
    const body = await (await call(getRegistry)).json();
    expect(body.models[0]).toEqual({
      key: "alpha", name: "Alpha", status: "completed", training_samples: 0, file_size_mb: 0, file_size_bytes: 0, evaluation_score: null,
      deployment_status: "ready",
      files: [
        { name: "config.json", size_bytes: 2, download_url: "/api/models/alpha/files/config.json" },
        { name: "model.safetensors", size_bytes: 1000, download_url: "/api/models/alpha/files/model.safetensors" },
      ],
    });
    expect(body.models[1].files).toEqual([]);
    expect(body.warnings).toEqual([
      'beta: artifacts folder "artifacts/missing": not found',
      'gamma: artifacts folder "artifacts/escape" is outside the data dir',
    ]);
  });

  it("streams a listed file with length and disposition", async () => {
    const res = await download("model.safetensors");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe("1000");
    expect(res.headers.get("content-disposition")).toBe("attachment; filename*=UTF-8''model.safetensors");
    expect(Buffer.from(await res.arrayBuffer())).toEqual(weights);
  });

  it("serves byte ranges with 206, and 416 past the end", async () => {
    const part = await download("model.safetensors", { range: "bytes=10-19" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect(Buffer.from(await part.arrayBuffer())).toEqual(weights.subarray(10, 20));
    const tail = await download("model.safetensors", { range: "bytes=-5" });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(weights.subarray(995));
    const open = await download("model.safetensors", { range: "bytes=990-" });
    expect(open.headers.get("content-range")).toBe("bytes 990-999/1000");
    const past = await download("model.safetensors", { range: "bytes=1000-1200" });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe("bytes */1000");
    expect(await past.json()).toEqual({ error: "Range not satisfiable" });
  });

  it("serves only listed names: traversal, sub-folders and symlinks get the same 404", async () => {
    writeFile(dir, "artifacts/outside.txt", "nope");
    for (const name of ["../outside.txt", "../../secret.txt", "nested/ignored.bin", "link.txt", "/etc/passwd", "missing.bin"]) {
      const res = await download(name);
      expect(res.status, name).toBe(404);
      expect(await res.json()).toEqual({ error: "File not found" });
    }
    const unknownModel = await call(getFile, { params: { key: "nope", name: "config.json" } });
    expect(unknownModel.status).toBe(404);
  });
});
