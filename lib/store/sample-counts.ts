import "server-only";
import { sampleCountSchema, type SampleCount } from "@/lib/schemas/sample-count";
import { getDb } from "./db";

// The last count of each training file, keyed by path; the count carries the inode, size and
// mtime it is valid for.
export function loadSampleCounts(): Map<string, SampleCount> {
  const rows = getDb().prepare("SELECT path, count FROM sample_counts").all() as { path: string; count: string }[];
  // A row this version cannot read is counted again.
  return new Map(rows.flatMap((r) => {
    const parsed = sampleCountSchema.safeParse(JSON.parse(r.count));
    return parsed.success ? [[r.path, parsed.data] as const] : [];
  }));
}

export function saveSampleCount({ path, count }: { path: string; count: SampleCount }): void {
  getDb().prepare("INSERT INTO sample_counts (path, count) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET count = excluded.count").run(path, JSON.stringify(count));
}
