// npm run --silent store:copy -- --from <sqlite file> --to <postgres url>
// Copies a SQLite store into a PostgreSQL one (empty, or an earlier copy of the same store: a
// second run writes nothing), then prints both sides' row counts. Exits 0 when they match, 1 when
// they do not or the copy failed, 2 on bad arguments. Passwords are never printed.
import fs from "node:fs";
import path from "node:path";
import { envSchema, withoutPassword } from "@/lib/env";
import { describeError } from "@/lib/errors";
import { copyStore, type CopyReport } from "@/lib/store/copy";
import { closeStore, openStore, type Store } from "@/lib/store/db";

const USAGE = `usage: npm run --silent store:copy -- --from <sqlite file> --to <postgres://user:password@host:5432/database>
  --from  the SQLite store to copy (AFS_DB; by default <AFS_DATA_DIR>/.afs/afs.db)
  --to    the PostgreSQL database to copy into; may be left out when DATABASE_URL names it,
          which keeps the password out of the command line (and npm's echo of it without --silent)`;

// A copy is one long batch job: its statements may take longer than a request's should.
const STATEMENT_TIMEOUT_MS = 600_000;

type Args = { from: string; to: string } | { help: true } | { error: string };

// Never echoes what it refuses, other than an option's name: any argument may be a URL with a password.
function parseArgs({ argv, env }: { argv: string[]; env: NodeJS.ProcessEnv }): Args {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") return { help: true };
    const option = /^--(from|to)(?:=(.*))?$/s.exec(arg);
    if (!option) {
      return { error: arg.startsWith("-") ? `unknown option ${arg.split("=")[0]}` : `unexpected argument #${i + 1} (options are --from and --to)` };
    }
    const value = option[2] ?? argv[++i];
    if (!value) return { error: `--${option[1]} needs a value` };
    values[option[1]] = value;
  }
  const from = values.from;
  const to = values.to ?? env.DATABASE_URL;
  if (!from) return { error: "--from is missing: the SQLite store to copy" };
  if (!to) return { error: "--to is missing (and DATABASE_URL is unset): the PostgreSQL database to copy into" };
  const checked = envSchema.shape.DATABASE_URL.safeParse(to);
  if (!checked.success) return { error: `--to ${checked.error.issues[0].message}` };
  // Checked here: opening a path that is not there would create an empty store and copy that.
  if (!fs.statSync(from, { throwIfNoEntry: false })?.isFile()) return { error: `--from: no such file: ${from}` };
  return { from: path.resolve(from), to };
}

function formatReport({ report, from, to }: { report: CopyReport; from: string; to: string }): string {
  const width = Math.max(5, ...report.tables.map((t) => t.table.length));
  const cell = (value: string | number, size: number) => String(value).padStart(size);
  const lines = [`${"table".padEnd(width)}  ${cell(from, 8)}  ${cell(to, 8)}`];
  for (const t of report.tables) lines.push(`${t.table.padEnd(width)}  ${cell(t.source, 8)}  ${cell(t.destination, 8)}`);
  return lines.join("\n");
}

// Drivers may quote the URL they were given: the password goes before anything is printed.
function maskPassword({ text, password }: { text: string; password: string }): string {
  if (!password) return text;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // not percent-encoded after all
  }
  return text.replaceAll(password, "***").replaceAll(decoded, "***");
}

async function main(): Promise<number> {
  const args = parseArgs({ argv: process.argv.slice(2), env: process.env });
  if ("help" in args) {
    console.log(USAGE);
    return 0;
  }
  if ("error" in args) {
    console.error(`store:copy: ${args.error}\n${USAGE}`);
    return 2;
  }
  const label = withoutPassword(args.to);
  const password = new URL(args.to).password;
  // The destination first: a server that cannot be reached leaves the source file untouched.
  let to: Store | null = null;
  let from: Store | null = null;
  try {
    console.log(`copying ${args.from}\n   into ${label}`);
    const started = performance.now();
    to = await openStore({ engine: "postgres", url: args.to, poolMax: 2, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    from = await openStore({ engine: "sqlite", path: args.from });
    const report = await copyStore({ from, to });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(formatReport({ report, from: from.engine, to: to.engine }));
    const written = report.tables.reduce((sum, t) => sum + t.written, 0);
    const differ = report.tables.filter((t) => t.source !== t.destination).map((t) => t.table);
    if (differ.length) {
      console.error(`store:copy: row counts differ in ${differ.join(", ")}: the destination held other rows before the copy`);
      return 1;
    }
    console.log(`${written} rows written in ${seconds} s; row counts match`);
    return 0;
  } catch (error) {
    console.error(`store:copy: ${maskPassword({ text: describeError(error), password })}`);
    return 1;
  } finally {
    if (from) await closeStore(from);
    if (to) await closeStore(to);
  }
}

main().then((code) => (process.exitCode = code));
