import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getHealth } from "@/app/api/health/route";
import { GET as getRegistry } from "@/app/api/models/registry/route";
import { GET as getTraining } from "@/app/api/training/status/route";
import { GET as getCosts } from "@/app/api/costs/breakdown/route";
import { GET as getCsv } from "@/app/api/export/csv/route";
import { GET as getLoss } from "@/app/api/metrics/training-loss/route";
import { call, makeDataDir, modelConfig, writeFile } from "../helpers";

const ENDPOINTS = [getModels, getHealth, getRegistry, getTraining, getCosts, getCsv, getLoss];

// Every endpoint answers 200; returns the models answer's body.
async function allAnswer() {
  for (const handler of ENDPOINTS) expect((await call(handler, { url: "/api/x" })).status).toBe(200);
  return (await call(getModels)).json();
}

const config = (models = [{ key: "alpha", name: "Alpha" }]) =>
  JSON.stringify({ session: { name: "S" }, models: models.map(modelConfig) });

describe("hostile data files: every endpoint still answers, with warnings, and recovers", () => {
  it("empty files", async () => {
    const dir = makeDataDir({ config: "", files: { "models/alpha_merged.jsonl": "", "evaluations/e.json": "", "runs/alpha/log.jsonl": "" } });
    let body = await allAnswer();
    expect(body.warnings).toEqual(["afs.config.json: invalid JSON (the file is empty)", "evaluations/e.json: invalid JSON (the file is empty)"]);
    writeFile(dir, "afs.config.json", config());
    body = await allAnswer();
    expect(body.models[0]).toMatchObject({ key: "alpha", training_samples: 0 });
  });

  it("a BOM, CRLF line ends and invalid UTF-8", async () => {
    makeDataDir({
      config: "\uFEFF" + config().replace(/\n/g, "\r\n"),
      files: {
        "models/alpha_merged.jsonl": Buffer.concat([
          Buffer.from('\uFEFF{"a":1}\r\n{"b":"'),
          Buffer.from([0xff, 0xfe, 0xc3]), // not UTF-8: decoded as U+FFFD, still one JSON line
          Buffer.from('"}\r\n\r\n'),
        ]),
      },
    });
    const body = await allAnswer();
    expect(body.warnings).toEqual([]);
    expect(body.models[0].training_samples).toBe(2);
  });

  it("one 50 MB line", async () => {
    makeDataDir({ config: config(), files: { "models/alpha_merged.jsonl": `{"text":"${"x".repeat(50 * 1024 * 1024)}"}\n{"b":2}\n` } });
    const body = await allAnswer();
    expect(body.models[0].training_samples).toBe(2);
    expect(body.models[0].file_size_mb).toBeCloseTo(50, 0);
  });

  it("JSON with NaN", async () => {
    const dir = makeDataDir({
      config: config().replace('"progress":0', '"progress":NaN'),
      files: { "evaluations/e.json": '{"model_key":"alpha","score":NaN,"evaluated_at":"2026-11-01T00:00:00Z"}' },
    });
    const body = await allAnswer();
    expect(body.warnings).toHaveLength(2);
    expect(body.warnings[0]).toMatch(/^afs\.config\.json: invalid JSON/);
    writeFile(dir, "afs.config.json", config());
    expect((await allAnswer()).models).toHaveLength(1);
  });

  it("a file truncated, then replaced, while it is being read", async () => {
    const line = JSON.stringify({ text: "y".repeat(500) }) + "\n";
    const dir = makeDataDir({ config: config(), files: { "models/alpha_merged.jsonl": line.repeat(40_000) } });
    const file = `${dir}/models/alpha_merged.jsonl`;
    const reading = call(getModels);
    fs.truncateSync(file, line.length * 10 + 7); // cut mid-line while the scan streams
    expect((await reading).status).toBe(200);
    fs.writeFileSync(`${file}.new`, line.repeat(3));
    const again = call(getModels);
    fs.renameSync(`${file}.new`, file);
    expect((await again).status).toBe(200);
    expect((await allAnswer()).models[0].training_samples).toBe(3);
  });

  it("a directory replaced by a file", async () => {
    const dir = makeDataDir({ config: config(), files: { "evaluations/e.json": '{"model_key":"alpha","score":0.5,"evaluated_at":"2026-11-01T00:00:00Z"}' } });
    expect((await allAnswer()).models[0].evaluation_score).toBe(0.5);
    fs.rmSync(`${dir}/evaluations`, { recursive: true });
    fs.writeFileSync(`${dir}/evaluations`, "not a folder");
    const body = await allAnswer();
    expect(body.models[0].evaluation_score).toBeNull();
    expect(body.warnings).toEqual([expect.stringMatching(/^evaluations\/: ENOTDIR/)]);
  });

  it("a data dir that disappears and comes back", async () => {
    const dir = makeDataDir({ config: config(), files: { "models/alpha_merged.jsonl": '{"a":1}\n' } });
    expect((await allAnswer()).models[0].training_samples).toBe(1);
    fs.renameSync(dir, `${dir}-away`);
    const gone = await allAnswer();
    expect(gone.warnings).toEqual(["afs.config.json: not found"]);
    expect(gone.models.map((m: { key: string }) => m.key)).toEqual(["alpha"]); // the last valid config
    fs.renameSync(`${dir}-away`, dir);
    const back = await allAnswer();
    expect(back.warnings).toEqual([]);
    expect(back.models[0].training_samples).toBe(1);
  });
});
