import "server-only";
import { summarizeCosts } from "@/lib/costs";
import type { Snapshot } from "@/lib/models";
import { modelStatusSchema, type ModelStatus } from "@/lib/schemas/api";

const CSV_COLUMNS = Object.keys(modelStatusSchema.shape) as (keyof ModelStatus)[];

// OWASP's CSV-injection rule: a cell that a spreadsheet would read as a formula gets a leading
// quote, unless it is a plain number (a negative cost must stay a number).
function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? "" : Array.isArray(value) ? value.join("; ") : String(value);
  if (/^[=+\-@\t\r\n]/.test(text) && !/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) text = `'${text}`;
  return `"${text.replaceAll('"', '""')}"`;
}

export function toCsv(models: ModelStatus[]): string {
  const rows = [CSV_COLUMNS.map(csvCell).join(","), ...models.map((m) => CSV_COLUMNS.map((c) => csvCell(m[c])).join(","))];
  return rows.join("\r\n") + "\r\n";
}

export function exportJson(snapshot: Snapshot) {
  return {
    generated_at: new Date(snapshot.now).toISOString(),
    session: snapshot.config.session,
    models: snapshot.models,
    costs: summarizeCosts(snapshot),
    evaluations: snapshot.evaluations,
  };
}
