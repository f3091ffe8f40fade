import "server-only";
import { sampleCountSchema, type SampleCount } from "@/lib/schemas/sample-count";
import { getStore } from "./db";

// The last count of each training file, keyed by path; the count carries the inode, size and
// mtime it is valid for.
export async function loadSampleCounts(): Promise<Map<string, SampleCount>> {
  const { db } = await getStore();
  const rows = await db.selectFrom("sample_counts").select(["path", "count"]).execute();
  // A row this version cannot read is counted again.
  return new Map(rows.flatMap((r) => {
    const parsed = sampleCountSchema.safeParse(JSON.parse(r.count));
    return parsed.success ? [[r.path, parsed.data] as const] : [];
  }));
}

export async function saveSampleCount({ path, count }: { path: string; count: SampleCount }): Promise<void> {
  const { db } = await getStore();
  await db
    .insertInto("sample_counts")
    .values({ path, count: JSON.stringify(count) })
    .onConflict((oc) => oc.column("path").doUpdateSet({ count: (eb) => eb.ref("excluded.count") }))
    .execute();
}
