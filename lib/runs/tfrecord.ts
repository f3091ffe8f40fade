import "server-only";
import fs from "node:fs/promises";
import { crc32c } from "@aws-crypto/crc32c";

const HEADER_BYTES = 12; // u64 length + u32 masked CRC of those 8 bytes
const FOOTER_BYTES = 4; // u32 masked CRC of the data
const CHUNK_BYTES = 1 << 20;
// Far above any real event record; a larger length is corruption, refused before allocating.
const MAX_RECORD_BYTES = 64 << 20;

// Called twice per record, so positional rather than an options object.
function maskCrc(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

export type TfRecordRead = {
  // Where the next whole record starts: a truncated last record is left for a later read.
  next_offset: number;
  bytes_read: number;
  corrupt_offsets: number[];
  // Why reading this file cannot go on (a bad length CRC or an absurd length), else null.
  halted: string | null;
};

// Reads the TFRecord frames in [fromOffset, toOffset) of a file in chunks, handing each intact
// record's data to onRecord (valid only during the call). A record whose data CRC fails is
// skipped and its offset reported.
export async function readTfRecords({
  path,
  fromOffset,
  toOffset,
  onRecord,
}: {
  path: string;
  fromOffset: number;
  toOffset: number;
  onRecord: (record: { data: Uint8Array; offset: number }) => void;
}): Promise<TfRecordRead> {
  const handle = await fs.open(path, "r");
  try {
    let pos = fromOffset; // file offset of buf[0], always a record boundary
    let buf = Buffer.alloc(0);
    let need = HEADER_BYTES;
    let bytesRead = 0;
    let halted: string | null = null;
    const corrupt: number[] = [];
    while (!halted && pos + buf.length < toOffset) {
      const end = pos + buf.length;
      const want = Math.min(Math.max(CHUNK_BYTES, need - buf.length), toOffset - end);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead: n } = await handle.read(chunk, 0, want, end);
      if (n === 0) break;
      bytesRead += n;
      buf = buf.length ? Buffer.concat([buf, chunk.subarray(0, n)]) : chunk.subarray(0, n);

      let at = 0;
      for (;;) {
        if (buf.length - at < HEADER_BYTES) {
          need = HEADER_BYTES;
          break;
        }
        if (maskCrc(buf.subarray(at, at + 8)) !== buf.readUInt32LE(at + 8)) {
          halted = `bad length CRC at byte ${pos + at}`;
          break;
        }
        // u64 little-endian, read as two u32 halves: no BigInt per record.
        const high = buf.readUInt32LE(at + 4);
        const length = high * 2 ** 32 + buf.readUInt32LE(at);
        if (high !== 0 || length > MAX_RECORD_BYTES) {
          halted = `record at byte ${pos + at} claims ${length} bytes (limit ${MAX_RECORD_BYTES})`;
          break;
        }
        const dataStart = at + HEADER_BYTES;
        const dataEnd = dataStart + length;
        if (buf.length < dataEnd + FOOTER_BYTES) {
          need = dataEnd + FOOTER_BYTES - at;
          break;
        }
        const data = buf.subarray(dataStart, dataEnd);
        if (maskCrc(data) === buf.readUInt32LE(dataEnd)) onRecord({ data, offset: pos + at });
        else corrupt.push(pos + at);
        at = dataEnd + FOOTER_BYTES;
      }
      pos += at;
      buf = buf.subarray(at);
    }
    return { next_offset: pos, bytes_read: bytesRead, corrupt_offsets: corrupt, halted };
  } finally {
    await handle.close();
  }
}
