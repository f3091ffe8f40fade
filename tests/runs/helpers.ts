import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "protobufjs";

export const FIXTURE_RUN = path.join(__dirname, "..", "fixtures", "majora-v1");
export const EVENT_FILE = "runs/events.out.tfevents.1795686938.vm.469.0";
export const FINAL_EVAL_EVENT_FILE = "runs/events.out.tfevents.1795686961.vm.469.1";

export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "afs-runs-"));
}

// A data dir holding runs/<key>/, optionally a copy of the captured majora-v1 run.
export function makeDataDir({ key, copyFixture }: { key: string; copyFixture: boolean }): { dataDir: string; runDir: string } {
  const dataDir = makeTempDir();
  const runDir = path.join(dataDir, "runs", key);
  if (copyFixture) fs.cpSync(FIXTURE_RUN, runDir, { recursive: true });
  else fs.mkdirSync(runDir, { recursive: true });
  return { dataDir, runDir };
}

// Written from tensorboard's event.proto/summary.proto/tensor.proto apart from lib/runs, so a
// wrong field number there fails the round trip instead of agreeing with itself.
const writerRoot = parse(
  `syntax = "proto3";
  message Event { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3; Summary summary = 5; } }
  message Summary { repeated Value value = 1; }
  message Value { string tag = 1; SummaryMetadata metadata = 9; oneof value { float simple_value = 2; TensorProto tensor = 8; } }
  message SummaryMetadata { PluginData plugin_data = 1; }
  message PluginData { string plugin_name = 1; bytes content = 2; }
  message TensorProto {
    int32 dtype = 1; TensorShapeProto tensor_shape = 2; bytes tensor_content = 4;
    repeated float float_val = 5; repeated double double_val = 6; repeated bytes string_val = 8; repeated int32 half_val = 13;
  }
  message TensorShapeProto { message Dim { int64 size = 1; } repeated Dim dim = 2; }`,
  { keepCase: true },
).root;
const EventType = writerRoot.lookupType("Event");

// A plain bitwise CRC-32C (Castagnoli, reflected 0x82F63B78), apart from the package the reader
// uses, so the two check each other.
function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export type ValueSpec = Record<string, unknown>;

export function encodeEvent({ wall_time, step, values }: { wall_time: number; step: number; values: ValueSpec[] }): Uint8Array {
  const message = EventType.fromObject({ wall_time, step, summary: { value: values } });
  return EventType.encode(message).finish();
}

function maskedCrc(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

// u64 length and the masked CRC32C of those 8 bytes.
export function lengthHeader(length: bigint): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(length, 0);
  header.writeUInt32LE(maskedCrc(header.subarray(0, 8)), 8);
  return header;
}

// One TFRecord frame: length header, data, masked CRC32C of the data.
export function frameRecord(data: Uint8Array): Buffer {
  const header = lengthHeader(BigInt(data.length));
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc(data), 0);
  return Buffer.concat([header, data, footer]);
}

export function scalarEvent({ tag, step, value, wall_time }: { tag: string; step: number; value: number; wall_time: number }): Buffer {
  return frameRecord(encodeEvent({ wall_time, step, values: [{ tag, simple_value: value }] }));
}

// Where each record of a TFRecord file ends, walked from the length fields.
export function recordEnds(buffer: Buffer): number[] {
  const ends: number[] = [];
  for (let at = 0; at < buffer.length; ) {
    at += 12 + Number(buffer.readBigUInt64LE(at)) + 4;
    ends.push(at);
  }
  return ends;
}

export function readTrainerStateFixture(relative = "trainer_state.json"): {
  global_step: number;
  max_steps: number;
  log_history: Record<string, number>[];
} {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_RUN, relative), "utf8"));
}
