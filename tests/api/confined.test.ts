import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GET as getHealth } from "@/app/api/health/route";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getRegistry } from "@/app/api/models/registry/route";
import { GET as getTraining } from "@/app/api/training/status/route";
import { call, makeDataDir } from "../helpers";

const SECRET = "root:x:0:0:hunter2-secret";

// A file outside the data dir, reached through a link inside it, is never read: no byte of it,
// nor its size or line count, reaches an answer.
function outsideFile(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "afs-outside-")), "shadow");
  fs.writeFileSync(file, `${SECRET}\n${SECRET}\n`);
  return file;
}

async function everyAnswer(): Promise<string> {
  let text = "";
  for (const handler of [getHealth, getModels, getRegistry, getTraining]) {
    const res = await call(handler);
    expect(res.status).toBe(200);
    text += await res.text();
  }
  return text;
}

describe("files reached through links", () => {
  it("refuses a config, an evaluation and a training file that resolve outside the data dir", async () => {
    const dir = makeDataDir({ config: null });
    const secret = outsideFile();
    fs.symlinkSync(secret, path.join(dir, "afs.config.json"));
    fs.mkdirSync(path.join(dir, "evaluations"));
    fs.symlinkSync(secret, path.join(dir, "evaluations", "e.json"));
    let text = await everyAnswer();
    expect(text).not.toContain("hunter2");
    const warnings = (await (await call(getModels)).json()).warnings;
    expect(warnings).toEqual(["afs.config.json: resolves outside the data dir; not read", "evaluations/e.json: resolves outside the data dir; not read"]);

    fs.unlinkSync(path.join(dir, "afs.config.json"));
    fs.writeFileSync(path.join(dir, "afs.config.json"), JSON.stringify({ models: [{ key: "alpha", name: "Alpha", cost_per_hour: 1 }] }));
    fs.mkdirSync(path.join(dir, "models"));
    fs.symlinkSync(secret, path.join(dir, "models", "alpha_merged.jsonl"));
    text = await everyAnswer();
    expect(text).not.toContain("hunter2");
    const body = await (await call(getModels)).json();
    expect(body.models[0]).toMatchObject({ training_samples: 0, file_size_bytes: 0 });
    expect(body.warnings).toContain("models/alpha_merged.jsonl: resolves outside the data dir; not read");
  });

  it("says where JSON stops parsing without quoting the file", async () => {
    makeDataDir({ config: `{"session": {"name": "x"}, "models": [${SECRET}]}` });
    const text = await everyAnswer();
    expect(text).not.toContain("hunter2");
    expect((await (await call(getModels)).json()).warnings).toEqual(["afs.config.json: invalid JSON (unexpected character at line 1, column 39)"]);
  });
});
