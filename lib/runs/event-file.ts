import "server-only";
import { readEventScalars } from "./event-proto";
import { plausibleTime, tailFile, type ChunkRead, type FileTail, type TaggedPoint } from "./tail";
import { readTfRecords } from "./tfrecord";

// The scalar points in the TensorBoard event records in [fromOffset, toOffset) of a file (times in ms).
export async function readEventFile({
  path,
  root,
  fromOffset,
  toOffset,
}: {
  path: string;
  root: string;
  fromOffset: number;
  toOffset: number;
}): Promise<ChunkRead> {
  const points: TaggedPoint[] = [];
  let undecodable = 0;
  let badTimes = 0;
  const now = Date.now();
  const read = await readTfRecords({
    path,
    root,
    fromOffset,
    toOffset,
    onRecord: ({ bytes, start, end }) => {
      const before = points.length;
      try {
        readEventScalars({ bytes, start, end, points });
      } catch {
        // A record that fails part-way gives none of its points.
        points.length = before;
        undecodable += 1;
        return;
      }
      if (points.length > before && plausibleTime(points[before].wall_time, now) === null) {
        badTimes += 1;
        for (let i = before; i < points.length; i++) points[i].wall_time = null;
      }
    },
  });
  return {
    points,
    next_offset: read.next_offset,
    bytes_read: read.bytes_read,
    skipped: read.corrupt_offsets.length + undecodable,
    bad_times: badTimes,
    halted: read.halted,
    skipping_line: false,
  };
}

// Everything read from an event file so far, reading only what was appended since the last call.
export function tailEventFile({ path, root }: { path: string; root: string }): Promise<FileTail> {
  return tailFile({ path, read: ({ fromOffset, toOffset }) => readEventFile({ path, root, fromOffset, toOffset }) });
}
