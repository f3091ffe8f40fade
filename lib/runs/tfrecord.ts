import "server-only";
import { openDataFile } from "@/lib/data/file-cache";

const HEADER_BYTES = 12; // u64 length + u32 masked CRC of those 8 bytes
const FOOTER_BYTES = 4; // u32 masked CRC of the data
const CHUNK_BYTES = 256 << 10;
// Far above any real event record; a larger length is corruption, refused before allocating.
const MAX_RECORD_BYTES = 64 << 20;

// CRC-32C (Castagnoli, reflected 0x82f63b78) by slicing-by-8: table k gives a byte's effect k bytes on.
// Written here rather than taken from a package: a scalar record is ~50 bytes and its length 8,
// where a native addon's call costs more than the whole sum in JS (@node-rs/crc32: ~210 ns for
// 8 bytes, ~270 ns for 45; this: ~25 and ~70), and @aws-crypto/crc32c goes byte by byte through an iterator.
const CRC_TABLES = buildCrcTables();

function buildCrcTables(): Int32Array {
  const tables = new Int32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    tables[byte] = crc;
  }
  for (let i = 256; i < tables.length; i++) tables[i] = (tables[i - 256] >>> 8) ^ tables[tables[i - 256] & 0xff];
  return tables;
}

// The masked CRC a TFRecord stores, of bytes[start, end). Called twice per record, so positional
// rather than an options object.
function maskCrc(bytes: Uint8Array, start: number, end: number): number {
  const t = CRC_TABLES;
  let crc = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const low = crc ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    crc =
      t[1792 + (low & 0xff)] ^
      t[1536 + ((low >>> 8) & 0xff)] ^
      t[1280 + ((low >>> 16) & 0xff)] ^
      t[1024 + (low >>> 24)] ^
      t[768 + bytes[i + 4]] ^
      t[512 + bytes[i + 5]] ^
      t[256 + bytes[i + 6]] ^
      t[bytes[i + 7]];
  }
  for (; i < end; i++) crc = t[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  crc = ~crc >>> 0;
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
// record's data, bytes[start, end), to onRecord (valid only during the call; no view is made per
// record). A record whose data CRC fails is skipped and its offset reported.
export async function readTfRecords({
  path,
  root,
  fromOffset,
  toOffset,
  onRecord,
}: {
  path: string;
  // The data dir, which the file must be inside.
  root: string;
  fromOffset: number;
  toOffset: number;
  onRecord: (record: { bytes: Uint8Array; start: number; end: number }) => void;
}): Promise<TfRecordRead> {
  const { handle } = await openDataFile({ path, root });
  try {
    let pos = fromOffset; // file offset of buf[0], always a record boundary
    let buf = Buffer.alloc(0);
    let storage = Buffer.allocUnsafe(0);
    let need = HEADER_BYTES;
    let bytesRead = 0;
    let halted: string | null = null;
    const corrupt: number[] = [];
    while (!halted && pos + buf.length < toOffset) {
      const end = pos + buf.length;
      const want = Math.min(Math.max(CHUNK_BYTES, need - buf.length), toOffset - end);
      // One buffer serves every chunk (fresh memory is slow to touch), grown only for a longer
      // record. The unfinished record from the last chunk moves to its front, and the next chunk is
      // read in place behind it.
      if (storage.length < buf.length + want) storage = Buffer.allocUnsafe(buf.length + want);
      buf.copy(storage);
      const { bytesRead: n } = await handle.read(storage, buf.length, want, end);
      if (n === 0) break;
      bytesRead += n;
      buf = storage.subarray(0, buf.length + n);
      const view = new DataView(buf.buffer, buf.byteOffset, buf.length);

      let at = 0;
      for (;;) {
        if (buf.length - at < HEADER_BYTES) {
          need = HEADER_BYTES;
          break;
        }
        if (maskCrc(buf, at, at + 8) !== view.getUint32(at + 8, true)) {
          halted = `bad length CRC at byte ${pos + at}`;
          break;
        }
        // u64 little-endian, read as two u32 halves: no BigInt per record.
        const high = view.getUint32(at + 4, true);
        const length = high * 2 ** 32 + view.getUint32(at, true);
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
        if (maskCrc(buf, dataStart, dataEnd) === view.getUint32(dataEnd, true)) onRecord({ bytes: buf, start: dataStart, end: dataEnd });
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
