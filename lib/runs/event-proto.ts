import "server-only";
import type { TaggedPoint } from "./tail";

// Reads the scalars of TensorBoard Event records straight from the protobuf wire format, with the
// upstream field numbers (event.proto, summary.proto, tensor.proto, tensor_shape.proto). A generic
// decoder built a whole message object per record and was most of the read time; this reads only
// the fields scalars need into points and skips every other field, known or not.
//
// The helpers take positional arguments, not one object: they run several times per record.

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

// Keys (field number << 3 | wire type) of the fields read.
const EVENT_WALL_TIME = (1 << 3) | FIXED64;
const EVENT_STEP = (2 << 3) | VARINT;
const EVENT_SUMMARY = (5 << 3) | LENGTH_DELIMITED;
const SUMMARY_VALUE = (1 << 3) | LENGTH_DELIMITED;
const VALUE_TAG = (1 << 3) | LENGTH_DELIMITED;
const VALUE_SIMPLE_VALUE = (2 << 3) | FIXED32;
const VALUE_TENSOR = (8 << 3) | LENGTH_DELIMITED;
const VALUE_METADATA = (9 << 3) | LENGTH_DELIMITED;
const METADATA_PLUGIN_DATA = (1 << 3) | LENGTH_DELIMITED;
const PLUGIN_DATA_PLUGIN_NAME = (1 << 3) | LENGTH_DELIMITED;
const TENSOR_DTYPE = (1 << 3) | VARINT;
const TENSOR_SHAPE = (2 << 3) | LENGTH_DELIMITED;
const TENSOR_CONTENT = (4 << 3) | LENGTH_DELIMITED;
const SHAPE_DIM = (2 << 3) | LENGTH_DELIMITED;
const DIM_SIZE = (1 << 3) | VARINT;
// Repeated numbers, by field number alone: written packed (proto3's default) or one per field.
const TENSOR_FLOAT_VAL = 5;
const TENSOR_DOUBLE_VAL = 6;
const TENSOR_HALF_VAL = 13;

// tensorflow/core/framework/types.proto
const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_BFLOAT16 = 14;
const DT_HALF = 19;

// Appends the scalar points of the Event in bytes[start, end) to `points` (times in ms). Throws on
// malformed bytes, possibly after appending some of the record's points.
export function readEventScalars({
  bytes,
  start,
  end,
  points,
}: {
  bytes: Uint8Array;
  start: number;
  end: number;
  points: TaggedPoint[];
}): void {
  const reader = new WireReader(bytes, start);
  let wallTime = 0; // proto3 defaults: 0 where the record has none
  let step = 0;
  let summaryStart = 0;
  let summaryEnd = 0;
  while (reader.pos < end) {
    const key = reader.varint(end);
    if (key === EVENT_WALL_TIME) wallTime = reader.double(end);
    else if (key === EVENT_STEP) step = reader.varint(end);
    else if (key === EVENT_SUMMARY) {
      // Read once wall_time and step are known: the wire does not promise they come first.
      summaryEnd = reader.delimitedEnd(end);
      summaryStart = reader.pos;
      reader.pos = summaryEnd;
    } else reader.skip(key & 7, end);
  }
  reader.pos = summaryStart;
  while (reader.pos < summaryEnd) {
    const key = reader.varint(summaryEnd);
    if (key === SUMMARY_VALUE) readValue(reader, reader.delimitedEnd(summaryEnd), step, wallTime * 1000, points);
    else reader.skip(key & 7, summaryEnd);
  }
}

// A scalar in any of the encodings writers use: simple_value (PyTorch's default), or a
// one-element float tensor (PyTorch new_style, TF2). Values another plugin owns (text,
// histograms, hparams) are not scalars.
function readValue(reader: WireReader, end: number, step: number, wallTime: number, points: TaggedPoint[]): void {
  let tag = "";
  let plugin = "";
  let simpleValue: number | null = null; // null when absent, so a written 0 is told apart
  let tensorValue: number | null = null;
  while (reader.pos < end) {
    const key = reader.varint(end);
    if (key === VALUE_TAG) tag = readText(reader, reader.delimitedEnd(end));
    else if (key === VALUE_SIMPLE_VALUE) simpleValue = reader.float(end);
    else if (key === VALUE_TENSOR) tensorValue = readScalarTensor(reader, reader.delimitedEnd(end));
    else if (key === VALUE_METADATA) plugin = readPluginName(reader, reader.delimitedEnd(end));
    else reader.skip(key & 7, end);
  }
  if (!tag || (plugin && plugin !== "scalars")) return;
  const value = simpleValue ?? tensorValue;
  // A NaN or infinite value is kept: it marks where a run diverged.
  if (value !== null) points.push({ tag, step, value, wall_time: wallTime });
}

// SummaryMetadata.plugin_data.plugin_name.
function readPluginName(reader: WireReader, end: number): string {
  return readLast(reader, end, METADATA_PLUGIN_DATA, "", (dataEnd) =>
    readLast(reader, dataEnd, PLUGIN_DATA_PLUGIN_NAME, "", (nameEnd) => readText(reader, nameEnd)),
  );
}

// The value of a one-element float tensor, in float_val/double_val/half_val or tensor_content; null
// for any other tensor.
function readScalarTensor(reader: WireReader, end: number): number | null {
  let dtype = 0;
  let elements = 1;
  let contentStart = 0;
  let contentLength = 0;
  const floats: number[] = [];
  const doubles: number[] = [];
  const halves: number[] = [];
  while (reader.pos < end) {
    const key = reader.varint(end);
    const field = key >>> 3;
    const wireType = key & 7;
    if (key === TENSOR_DTYPE) dtype = reader.varint(end);
    else if (key === TENSOR_SHAPE) elements *= readDimSizes(reader, reader.delimitedEnd(end));
    else if (key === TENSOR_CONTENT) {
      const contentEnd = reader.delimitedEnd(end);
      contentStart = reader.pos;
      contentLength = contentEnd - contentStart;
      reader.pos = contentEnd;
    } else if (field === TENSOR_FLOAT_VAL) readRepeated(reader, wireType, FIXED32, end, floats);
    else if (field === TENSOR_DOUBLE_VAL) readRepeated(reader, wireType, FIXED64, end, doubles);
    else if (field === TENSOR_HALF_VAL) readRepeated(reader, wireType, VARINT, end, halves);
    else reader.skip(wireType, end);
  }
  if (elements !== 1) return null;
  const { bytes } = reader;
  if (contentLength) {
    if (dtype === DT_FLOAT && contentLength === 4) return float32FromBits(uint32At(bytes, contentStart));
    if (dtype === DT_DOUBLE && contentLength === 8) return float64At(bytes, contentStart);
    if (dtype === DT_HALF && contentLength === 2) return halfToNumber(uint16At(bytes, contentStart));
    if (dtype === DT_BFLOAT16 && contentLength === 2) return float32FromBits(uint16At(bytes, contentStart) << 16);
    return null;
  }
  if (dtype === DT_FLOAT && floats.length === 1) return floats[0];
  if (dtype === DT_DOUBLE && doubles.length === 1) return doubles[0];
  if (dtype === DT_HALF && halves.length === 1) return halfToNumber(halves[0]);
  if (dtype === DT_BFLOAT16 && halves.length === 1) return float32FromBits(halves[0] << 16);
  return null;
}

// The product of TensorShapeProto.dim[].size (a missing size is 0); 1 for a scalar's empty shape.
function readDimSizes(reader: WireReader, end: number): number {
  let product = 1;
  while (reader.pos < end) {
    const key = reader.varint(end);
    if (key === SHAPE_DIM) product *= readLast(reader, reader.delimitedEnd(end), DIM_SIZE, 0, (sizeEnd) => reader.varint(sizeEnd));
    else reader.skip(key & 7, end);
  }
  return product;
}

// The last `key` field of the message in [reader.pos, end), through `read`, skipping every other
// field; `absent` when there is none. `read` is given the bound to read within: where the field's
// bytes end if it is length-delimited, else the message's end.
function readLast<T>(reader: WireReader, end: number, key: number, absent: T, read: (fieldEnd: number) => T): T {
  let value = absent;
  while (reader.pos < end) {
    const fieldKey = reader.varint(end);
    if (fieldKey === key) value = read((key & 7) === LENGTH_DELIMITED ? reader.delimitedEnd(end) : end);
    else reader.skip(fieldKey & 7, end);
  }
  return value;
}

// One field of a repeated number: a packed run of them, or one element.
function readRepeated(reader: WireReader, wireType: number, elementType: number, end: number, into: number[]): void {
  if (wireType === LENGTH_DELIMITED) {
    const runEnd = reader.delimitedEnd(end);
    while (reader.pos < runEnd) into.push(reader.number(elementType, runEnd));
  } else if (wireType === elementType) into.push(reader.number(elementType, end));
  else reader.skip(wireType, end);
}

class WireReader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
  ) {}

  // Every varint here (keys, lengths, int32, int64, enums) as a Number: exact below 2^53, negative
  // int64 and int32 (ten bytes on the wire) included.
  varint(end: number): number {
    if (this.pos >= end) throw new RangeError("truncated varint");
    const first = this.bytes[this.pos++];
    if (first < 0x80) return first; // keys, dtypes and short lengths: most varints here
    let low = first & 0x7f;
    let high = 0;
    for (let shift = 7; ; shift += 7) {
      if (this.pos >= end) throw new RangeError("truncated varint");
      const byte = this.bytes[this.pos++];
      const bits = byte & 0x7f;
      if (shift < 28) low |= bits << shift;
      else if (shift === 28) {
        low |= bits << 28;
        high = bits >>> 4;
      } else high |= bits << (shift - 32);
      if (byte < 0x80) return (high | 0) * 2 ** 32 + (low >>> 0);
      if (shift === 63) throw new RangeError("varint longer than 10 bytes");
    }
  }

  // Moves past `length` bytes and returns where they start.
  take(length: number, end: number): number {
    const start = this.pos;
    if (length < 0 || start + length > end) throw new RangeError("field runs past its message");
    this.pos = start + length;
    return start;
  }

  // Reads a length prefix and returns where the bytes it announces end, staying at their start.
  delimitedEnd(end: number): number {
    const length = this.varint(end);
    this.pos = this.take(length, end);
    return this.pos + length;
  }

  float(end: number): number {
    return float32FromBits(uint32At(this.bytes, this.take(4, end)));
  }

  double(end: number): number {
    return float64At(this.bytes, this.take(8, end));
  }

  // One element of a repeated number: each wire type used here carries one number type.
  number(wireType: number, end: number): number {
    if (wireType === FIXED32) return this.float(end);
    if (wireType === FIXED64) return this.double(end);
    return this.varint(end);
  }

  skip(wireType: number, end: number): void {
    if (wireType === VARINT) this.varint(end);
    else if (wireType === FIXED64) this.take(8, end);
    else if (wireType === LENGTH_DELIMITED) this.take(this.varint(end), end);
    else if (wireType === FIXED32) this.take(4, end);
    // Groups (3, 4) are deprecated and no TensorBoard writer emits them; 6 and 7 do not exist.
    else throw new RangeError(`unsupported wire type ${wireType}`);
  }
}

// Little-endian bits go through this to become floats, whatever the host's byte order.
const scratch = new DataView(new ArrayBuffer(8));

function uint16At(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8);
}

function uint32At(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

function float32FromBits(bits: number): number {
  scratch.setUint32(0, bits, true);
  return scratch.getFloat32(0, true);
}

function float64At(bytes: Uint8Array, at: number): number {
  scratch.setUint32(0, uint32At(bytes, at), true);
  scratch.setUint32(4, uint32At(bytes, at + 4), true);
  return scratch.getFloat64(0, true);
}

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const utf8 = new TextDecoder();
// Every record repeats its tags, so each distinct text is decoded once and shared: faster than
// decoding it again, and a million points hold one copy of "train/loss". Cleared when full, so a
// writer that makes up a new tag per step cannot grow it without bound.
const texts = new Map<number, { bytes: Uint8Array; text: string }>();
const MAX_TEXTS = 4096;

function readText(reader: WireReader, end: number): string {
  const { bytes } = reader;
  const start = reader.pos;
  reader.pos = end;
  let hash = 0x811c9dc5; // FNV-1a
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  const cached = texts.get(hash);
  if (cached && sameBytes(cached.bytes, bytes, start, end)) return cached.text;
  const text = utf8.decode(bytes.subarray(start, end));
  if (texts.size >= MAX_TEXTS) texts.clear();
  // A copy, not a view that would pin the whole read chunk.
  texts.set(hash, { bytes: new Uint8Array(bytes.subarray(start, end)), text });
  return text;
}

function sameBytes(a: Uint8Array, b: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[start + i]) return false;
  return true;
}
