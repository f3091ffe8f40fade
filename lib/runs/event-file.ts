import "server-only";
import { decodeEvent, type TensorMessage, type ValueMessage } from "./event-proto";
import { tailFile, type ChunkRead, type FileTail, type TaggedPoint } from "./tail";
import { readTfRecords } from "./tfrecord";

// tensorflow/core/framework/types.proto
const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_BFLOAT16 = 14;
const DT_HALF = 19;

// The scalar points in the TensorBoard event records in [fromOffset, toOffset) of a file (times in ms).
export async function readEventFile({
  path,
  fromOffset,
  toOffset,
}: {
  path: string;
  fromOffset: number;
  toOffset: number;
}): Promise<ChunkRead> {
  const points: TaggedPoint[] = [];
  let undecodable = 0;
  const read = await readTfRecords({
    path,
    fromOffset,
    toOffset,
    onRecord: ({ data }) => {
      try {
        const event = decodeEvent({ bytes: data });
        for (const value of event.summary?.value ?? []) {
          const scalar = readScalar({ value });
          if (value.tag && scalar !== null && Number.isFinite(scalar)) {
            points.push({ tag: value.tag, step: event.step ?? 0, value: scalar, wall_time: (event.wall_time ?? 0) * 1000 });
          }
        }
      } catch {
        undecodable += 1;
      }
    },
  });
  return {
    points,
    next_offset: read.next_offset,
    bytes_read: read.bytes_read,
    skipped: read.corrupt_offsets.length + undecodable,
    halted: read.halted,
  };
}

// Everything read from an event file so far, reading only what was appended since the last call.
export function tailEventFile({ path }: { path: string }): Promise<FileTail> {
  return tailFile({ path, read: ({ fromOffset, toOffset }) => readEventFile({ path, fromOffset, toOffset }) });
}

// A scalar in any of the encodings writers use: simple_value (PyTorch's default), or a
// one-element float tensor in float_val/double_val/half_val (PyTorch new_style) or tensor_content
// (TF2). Values another plugin owns (text, histograms, hparams) are not scalars.
function readScalar({ value }: { value: ValueMessage }): number | null {
  const plugin = value.metadata?.plugin_data?.plugin_name;
  if (plugin && plugin !== "scalars") return null;
  if (value.simple_value !== undefined) return value.simple_value;
  return value.tensor ? readScalarTensor({ tensor: value.tensor }) : null;
}

function readScalarTensor({ tensor }: { tensor: TensorMessage }): number | null {
  const elements = (tensor.tensor_shape?.dim ?? []).reduce((n, d) => n * (d.size ?? 0), 1);
  if (elements !== 1) return null;
  const { dtype, tensor_content: content } = tensor;
  if (content?.length) {
    const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
    if (dtype === DT_FLOAT && content.length === 4) return view.getFloat32(0, true);
    if (dtype === DT_DOUBLE && content.length === 8) return view.getFloat64(0, true);
    if (dtype === DT_HALF && content.length === 2) return halfToNumber({ bits: view.getUint16(0, true) });
    if (dtype === DT_BFLOAT16 && content.length === 2) return bfloat16ToNumber({ bits: view.getUint16(0, true) });
    return null;
  }
  if (dtype === DT_FLOAT && tensor.float_val?.length === 1) return tensor.float_val[0];
  if (dtype === DT_DOUBLE && tensor.double_val?.length === 1) return tensor.double_val[0];
  if (dtype === DT_HALF && tensor.half_val?.length === 1) return halfToNumber({ bits: tensor.half_val[0] });
  if (dtype === DT_BFLOAT16 && tensor.half_val?.length === 1) return bfloat16ToNumber({ bits: tensor.half_val[0] });
  return null;
}

function halfToNumber({ bits }: { bits: number }): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function bfloat16ToNumber({ bits }: { bits: number }): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, (bits & 0xffff) << 16);
  return view.getFloat32(0);
}
