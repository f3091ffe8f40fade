import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { envSchema } from "@/lib/env";

// compose.yaml and the Dockerfile are not built here (no container engine runs on the
// development machines), so this is what keeps their variables in step with lib/env.ts.

const read = (name: string) => fs.readFileSync(path.join(__dirname, "..", "..", name), "utf8");
// Variables the image sets for Node and Next themselves, not for the dashboard.
const NOT_OURS = new Set(["NODE_ENV", "NEXT_TELEMETRY_DISABLED"]);

type Service = { environment: Record<string, string | number>; volumes?: string[] };
const services = () => (parse(read("compose.yaml")) as { services: Record<string, Service> }).services;

// What Compose substitutes when the variables are unset: ${VAR:-default} its default,
// ${VAR:?message} (required) a placeholder. A bare ${VAR} would become "", so it is refused.
function interpolate(value: string | number): string {
  return String(value).replace(/\$\{([A-Za-z_]\w*)(?::([-?])([^}]*))?\}/g, (match, _name, op, arg) => {
    if (op === "-") return arg;
    if (op === "?") return "x";
    throw new Error(`${match} has no :-default or :?message`);
  });
}

// ENV instructions in the KEY=value form, continuation lines joined.
function dockerfileEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, args] of text.replace(/\\\r?\n/g, " ").matchAll(/^\s*ENV\s+(.*)$/gm)) {
    for (const [, key, value] of args.matchAll(/([A-Za-z_]\w*)=(\S*)/g)) env[key] = value;
  }
  return env;
}

const unknownNames = (env: Record<string, unknown>) => Object.keys(env).filter((name) => !NOT_OURS.has(name) && !(name in envSchema.shape));

function expectValid(env: Record<string, string>) {
  const parsed = envSchema.safeParse(env);
  expect(parsed.success, parsed.success ? "" : z.prettifyError(parsed.error)).toBe(true);
  return parsed.data!;
}

describe("compose.yaml", () => {
  const dashboard = () => services().dashboard;
  const values = () => Object.fromEntries(Object.entries(dashboard().environment).map(([k, v]) => [k, interpolate(v)]));

  it("sets only variables lib/env.ts accepts, with values it accepts over the image's own", () => {
    expect(unknownNames(dashboard().environment)).toEqual([]);
    const parsed = expectValid({ ...dockerfileEnv(read("Dockerfile")), ...values() });
    expect(parsed.DATABASE_URL).toMatch(/^postgres:\/\//);
    expect(parsed.AFS_GPU_SOURCE).toBe("off");
  });

  it("points DATABASE_URL at the postgres service, with its user, password and database", () => {
    const url = new URL(values().DATABASE_URL);
    const postgres = services()[url.hostname];
    expect(postgres, `no service named ${url.hostname}`).toBeDefined();
    expect(url.username).toBe(interpolate(postgres.environment.POSTGRES_USER));
    expect(url.password).toBe(interpolate(postgres.environment.POSTGRES_PASSWORD));
    expect(url.pathname).toBe(`/${interpolate(postgres.environment.POSTGRES_DB)}`);
  });

  it("mounts the host's data dir read-only where AFS_DATA_DIR points", () => {
    expect(dashboard().volumes).toContainEqual(expect.stringMatching(new RegExp(`:${values().AFS_DATA_DIR}:ro$`)));
  });
});

describe("Dockerfile", () => {
  it("sets only variables lib/env.ts accepts, besides Node's and Next's, with values it accepts", () => {
    const env = dockerfileEnv(read("Dockerfile"));
    expect(env).toMatchObject({ HOST: "0.0.0.0", AFS_DATA_DIR: "/data" });
    expect(unknownNames(env)).toEqual([]);
    expectValid(env);
  });

  it("would notice a misspelled variable or a value lib/env.ts refuses", () => {
    expect(unknownNames(dockerfileEnv("FROM x\nENV NODE_ENV=production \\\n  AFS_DATADIR=/data\n"))).toEqual(["AFS_DATADIR"]);
    // "false": what a YAML 1.1 reader makes of an unquoted `off`.
    expect(envSchema.safeParse({ DATABASE_URL: interpolate("mysql://afs:${P:-x}@db/afs"), AFS_GPU_SOURCE: "false" }).success).toBe(false);
  });
});
