import fs from "node:fs";
import path from "node:path";
import { parse, Writer, type Type } from "protobufjs";
import { describe, expect, it } from "vitest";
import { readEventFile } from "@/lib/runs/event-file";
import { readEventScalars } from "@/lib/runs/event-proto";
import type { TaggedPoint } from "@/lib/runs/tail";
import { frameRecord, makeTempDir } from "./helpers";

// TensorBoard's protos with the fields the reader skips (other oneof members, metadata it has no
// use for, other tensor types) plus fields no version has yet, one per wire type and key length,
// so the hand decoder is checked against protobufjs encoding all of them. `PACKED` is filled
// with [packed = false] for the variant that writes one field per repeated element.
const WRITER_PROTO = `
syntax = "proto3";
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; bytes graph_def = 4; Summary summary = 5; LogMessage log_message = 6; }
  SourceMetadata source_metadata = 10;
  uint64 future_varint = 99;
  fixed64 future_fixed64 = 100;
  fixed32 future_fixed32 = 101;
  bytes future_bytes = 536870911;
}
message LogMessage { int32 level = 1; string message = 2; }
message SourceMetadata { string writer = 1; }
message Summary { repeated Value value = 1; string future = 7; }
message Value {
  string node_name = 7;
  string tag = 1;
  SummaryMetadata metadata = 9;
  oneof value { float simple_value = 2; HistogramProto histo = 5; TensorProto tensor = 8; }
  sint64 future = 1000;
}
message HistogramProto { double min = 1; double max = 2; repeated double bucket = 7; }
message SummaryMetadata { PluginData plugin_data = 1; string display_name = 2; string summary_description = 3; int32 data_class = 4; }
message PluginData { string plugin_name = 1; bytes content = 2; }
message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated float float_val = 5 PACKED;
  repeated double double_val = 6 PACKED;
  repeated int32 int_val = 7 PACKED;
  repeated bytes string_val = 8;
  repeated int64 int64_val = 10 PACKED;
  repeated int32 half_val = 13 PACKED;
}
message TensorShapeProto {
  message Dim { int64 size = 1; string name = 2; }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}
`;

function writerType({ packed }: { packed: boolean }): Type {
  const proto = WRITER_PROTO.replaceAll("PACKED", packed ? "" : "[packed = false]");
  return parse(proto, { keepCase: true }).root.lookupType("Event");
}
const PACKED = writerType({ packed: true });
const UNPACKED = writerType({ packed: false });

function encode(type: Type, event: Record<string, unknown>): Uint8Array {
  return type.encode(type.fromObject(event)).finish();
}

function decode(bytes: Uint8Array): TaggedPoint[] {
  const points: TaggedPoint[] = [];
  readEventScalars({ bytes, start: 0, end: bytes.length, points });
  return points;
}

function littleEndian(write: (b: Buffer) => void, size: number): Buffer {
  const b = Buffer.alloc(size);
  write(b);
  return b;
}

// Deterministic, so a failure names the same case on every run (mulberry32).
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// IEEE half and bfloat16 bit patterns with their values, worked out by hand.
const HALVES: [number, number][] = [
  [0x3c00, 1],
  [0xbc00, -1],
  [0x3e00, 1.5],
  [0x0001, 2 ** -24],
  [0x7bff, 65504],
  [0x0000, 0],
  [0x7c00, Infinity],
  [0x7e00, NaN],
];
const BFLOAT16S: [number, number][] = [
  [0x3f80, 1],
  [0xc000, -2],
  [0x3e20, 0.15625],
  [0x7f80, Infinity],
];

type ValueCase = { value: Record<string, unknown>; scalar: number | null };

// One Summary.Value in a random encoding, and the scalar a reader should take from it (null: none).
function randomValue(random: () => number): ValueCase {
  const pick = <T,>(items: T[]): T => items[Math.floor(random() * items.length)];
  const x = pick([0, -0, 1, -2.5, 3.4e38, 1e-45, NaN, Infinity, (random() - 0.5) * 10 ** Math.floor(random() * 20 - 10)]);
  const [halfBits, half] = pick(HALVES);
  const [bfloatBits, bfloat] = pick(BFLOAT16S);
  const scalarShape = pick([undefined, {}, { dim: [] }, { dim: [{ size: 1 }] }, { dim: [{ size: 1, name: "x" }, { size: 1 }], unknown_rank: false }]);
  const cases: ValueCase[] = [
    { value: { simple_value: x }, scalar: Math.fround(x) },
    { value: { tensor: { dtype: 1, tensor_shape: scalarShape, float_val: [x] } }, scalar: Math.fround(x) },
    { value: { tensor: { dtype: 2, tensor_shape: scalarShape, double_val: [x], version_number: 1 } }, scalar: x },
    { value: { tensor: { dtype: 19, tensor_shape: scalarShape, half_val: [halfBits] } }, scalar: half },
    { value: { tensor: { dtype: 14, half_val: [bfloatBits] } }, scalar: bfloat },
    { value: { tensor: { dtype: 1, tensor_content: littleEndian((b) => b.writeFloatLE(x), 4) } }, scalar: Math.fround(x) },
    { value: { tensor: { dtype: 2, tensor_shape: scalarShape, tensor_content: littleEndian((b) => b.writeDoubleLE(x), 8) } }, scalar: x },
    { value: { tensor: { dtype: 19, tensor_content: littleEndian((b) => b.writeUInt16LE(halfBits), 2) } }, scalar: half },
    { value: { tensor: { dtype: 14, tensor_content: littleEndian((b) => b.writeUInt16LE(bfloatBits), 2) } }, scalar: bfloat },
    // Not scalars: more than one element, other types, a content of the wrong size, no value at all.
    { value: { tensor: { dtype: 1, tensor_shape: { dim: [{ size: 2 }] }, float_val: [x, 1] } }, scalar: null },
    { value: { tensor: { dtype: 1, tensor_shape: { dim: [{ size: 1 }, { size: 3 }] }, tensor_content: Buffer.alloc(12) } }, scalar: null },
    { value: { tensor: { dtype: 1, float_val: [1, 2] } }, scalar: null },
    { value: { tensor: { dtype: 1, tensor_shape: { dim: [{}] }, float_val: [1] } }, scalar: null },
    { value: { tensor: { dtype: 3, int_val: [5] } }, scalar: null },
    { value: { tensor: { dtype: 9, int64_val: [5] } }, scalar: null },
    { value: { tensor: { dtype: 7, string_val: [Buffer.from("text")] } }, scalar: null },
    { value: { tensor: { dtype: 1, tensor_content: Buffer.alloc(8) } }, scalar: null },
    { value: { histo: { min: 0, max: 1, bucket: [1, 2] } }, scalar: null },
    { value: {}, scalar: null },
  ];
  return pick(cases);
}

// A random Event as protobufjs takes it, and the points a reader should make of it.
function randomEvent(random: () => number): { event: Record<string, unknown>; points: TaggedPoint[] } {
  const pick = <T,>(items: T[]): T => items[Math.floor(random() * items.length)];
  const step = pick([0, 1, -1, 127, 128, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1), Math.floor((random() - 0.5) * 2e9)]);
  const wallTime = pick([undefined, 0, 1795686938.25, 1e9 + random() * 1e9]);
  const event: Record<string, unknown> = { step, wall_time: wallTime };
  if (random() < 0.3) event.source_metadata = { writer: "pytorch" };
  if (random() < 0.3) Object.assign(event, { future_varint: 2 ** 40 + 3, future_fixed64: 7, future_fixed32: 9, future_bytes: Buffer.from("later") });
  const values: Record<string, unknown>[] = [];
  const points: TaggedPoint[] = [];
  for (let i = Math.floor(random() * 4); i > 0; i--) {
    const { value, scalar } = randomValue(random);
    const tag = pick(["train/loss", "eval/loss", "train/learning_rate", "ü/λ 損失", "", "t".repeat(300)]);
    const plugin = pick([undefined, "scalars", "text", "histograms", "hparams", ""]);
    if (tag) value.tag = tag;
    if (plugin !== undefined) value.metadata = { plugin_data: { plugin_name: plugin, content: Buffer.from([1, 2]) }, display_name: "shown", data_class: 1 };
    if (random() < 0.3) Object.assign(value, { node_name: "node", future: -5 });
    values.push(value);
    if (tag && (!plugin || plugin === "scalars") && scalar !== null) {
      points.push({ tag, step, value: scalar, wall_time: (wallTime ?? 0) * 1000 });
    }
  }
  if (values.length || random() < 0.5) event.summary = { value: values, ...(random() < 0.3 ? { future: "x" } : {}) };
  else if (random() < 0.5) event.file_version = "brain.Event:2";
  return { event, points };
}

describe("the hand-written Event decoder, against protobufjs encoding", () => {
  it("reads the same points from varied events, packed and not, with unknown fields anywhere", () => {
    const random = seeded(20261126);
    let scalars = 0;
    for (let i = 0; i < 3000; i++) {
      const { event, points } = randomEvent(random);
      const type = random() < 0.5 ? PACKED : UNPACKED;
      expect(decode(encode(type, event)), `case ${i}: ${JSON.stringify(event)}`).toEqual(points);
      scalars += points.length;
    }
    expect(scalars).toBeGreaterThan(500);
  });

  it("reads wall_time and step wherever they come in the record", () => {
    const summary = { value: [{ tag: "loss", simple_value: 0.5 }] };
    // A message split in two and concatenated is the same message to any protobuf reader.
    const bytes = Buffer.concat([encode(PACKED, { summary, future_varint: 1 }), encode(PACKED, { step: -7, wall_time: 12.5 })]);
    expect(decode(bytes)).toEqual([{ tag: "loss", step: -7, value: 0.5, wall_time: 12500 }]);
    expect(decode(encode(PACKED, { summary }))).toEqual([{ tag: "loss", step: 0, value: 0.5, wall_time: 0 }]);
  });

  it("takes a one-element float_val however its elements are split over fields", () => {
    const packed = encode(PACKED, { step: 1, summary: { value: [{ tag: "a", tensor: { dtype: 1, float_val: [0.1] } }] } });
    const unpacked = encode(UNPACKED, { step: 1, summary: { value: [{ tag: "a", tensor: { dtype: 1, float_val: [0.1] } }] } });
    expect(Buffer.from(packed).equals(Buffer.from(unpacked))).toBe(false);
    expect(decode(packed)).toEqual(decode(unpacked));
    expect(decode(packed)).toEqual([{ tag: "a", step: 1, value: Math.fround(0.1), wall_time: 0 }]);
    // Two one-element runs are a two-element tensor.
    const tensor = new Writer()
      .uint32((1 << 3) | 0).int32(1)
      .uint32((5 << 3) | 2).fork().float(1).ldelim()
      .uint32((5 << 3) | 2).fork().float(2).ldelim()
      .finish();
    const value = new Writer().uint32((1 << 3) | 2).string("a").uint32((8 << 3) | 2).bytes(tensor).finish();
    const event = new Writer().uint32((5 << 3) | 2).fork().uint32((1 << 3) | 2).bytes(value).ldelim().finish();
    expect(decode(event)).toEqual([]);
  });
});

describe("malformed event records", () => {
  const full = encode(PACKED, {
    step: 300,
    wall_time: 1795686938.5,
    summary: { value: [{ tag: "a", simple_value: 1 }, { tag: "b", tensor: { dtype: 2, double_val: [2] } }, { tag: "c", simple_value: 3 }] },
  });
  const fullPoints = decode(full);

  it("throws, rather than guessing, on a cut that leaves a field unfinished", () => {
    expect(fullPoints.map((p) => p.tag)).toEqual(["a", "b", "c"]);
    // wall_time (9 bytes) and step (3) come first; every cut inside them or the summary throws.
    for (let cut = 0; cut < full.length; cut++) {
      if (cut === 0 || cut === 9 || cut === 12) expect(decode(full.subarray(0, cut))).toEqual([]);
      else expect(() => decode(full.subarray(0, cut)), `cut at ${cut}`).toThrow(RangeError);
    }
  });

  it("counts truncated, garbage and part-way broken records as skipped and keeps every other point", async () => {
    const random = seeded(7);
    const garbage = Array.from({ length: 400 }, () => Buffer.from(Array.from({ length: Math.floor(random() * 60) }, () => Math.floor(random() * 256))));
    // Well-formed up to the third value, whose tag claims 100 bytes of its 3.
    const goodValue = (tag: string, value: number) => new Writer().uint32((1 << 3) | 2).string(tag).uint32((2 << 3) | 5).float(value).finish();
    const partWay = new Writer()
      .uint32((5 << 3) | 2).fork()
      .uint32((1 << 3) | 2).bytes(goodValue("x", 1))
      .uint32((1 << 3) | 2).bytes(goodValue("y", 2))
      .uint32((1 << 3) | 2).bytes(Buffer.from([(1 << 3) | 2, 100, 0x61]))
      .ldelim()
      .finish();
    // A group (wire type 3): deprecated, never written by TensorBoard writers.
    const group = Buffer.concat([full, Buffer.from([(15 << 3) | 3, (15 << 3) | 4])]);
    const broken = [full.subarray(0, full.length - 1), full.subarray(0, 5), partWay, group];
    for (const bytes of broken) expect(() => decode(bytes)).toThrow(RangeError);
    const bad = [...broken, ...garbage];

    const file = path.join(makeTempDir(), "events.out.tfevents.malformed");
    fs.writeFileSync(file, Buffer.concat([frameRecord(full), ...bad.map((b) => frameRecord(b)), frameRecord(full)]));
    const read = await readEventFile({ path: file, root: path.dirname(file), fromOffset: 0, toOffset: fs.statSync(file).size });

    const decoded = bad.filter((b) => {
      try {
        decode(b);
        return true;
      } catch {
        return false;
      }
    });
    expect(read.skipped).toBe(bad.length - decoded.length);
    expect(read.skipped).toBeGreaterThan(4);
    expect(read.halted).toBeNull();
    expect(read.points.slice(0, 3)).toEqual(fullPoints);
    expect(read.points.slice(-3)).toEqual(fullPoints);
    expect(read.points.filter((p) => p.tag === "x" || p.tag === "y")).toEqual([]);
    for (const point of read.points) {
      expect(typeof point.tag).toBe("string");
      expect(typeof point.value === "number" && Number.isFinite(point.step) && Number.isFinite(point.wall_time)).toBe(true);
    }
  });

  it("never throws on records damaged byte by byte", async () => {
    const random = seeded(99);
    const records: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const { event } = randomEvent(random);
      const bytes = Buffer.from(encode(PACKED, event));
      for (let flips = 1 + Math.floor(random() * 3); flips > 0 && bytes.length; flips--) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      records.push(frameRecord(bytes));
    }
    const file = path.join(makeTempDir(), "events.out.tfevents.flipped");
    fs.writeFileSync(file, Buffer.concat(records));
    const read = await readEventFile({ path: file, root: path.dirname(file), fromOffset: 0, toOffset: fs.statSync(file).size });
    expect(read).toMatchObject({ halted: null, next_offset: fs.statSync(file).size });
    expect(read.skipped).toBeGreaterThan(0);
    expect(read.points.every((p) => p.tag.length > 0 && typeof p.value === "number")).toBe(true);
  });
});
