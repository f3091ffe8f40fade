import "server-only";
import { parse } from "protobufjs";

// The subset of TensorBoard's event.proto, summary.proto and tensor.proto that scalars need,
// with the upstream field numbers. Kept as a string so Next's standalone build carries it.
// The oneofs give simple_value and tensor explicit presence, so a written 0 is told from "absent".
const EVENT_PROTO = `
syntax = "proto3";
package afs;

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}

message Summary {
  repeated Value value = 1;
}

message Value {
  string tag = 1;
  SummaryMetadata metadata = 9;
  oneof value {
    float simple_value = 2;
    TensorProto tensor = 8;
  }
}

message SummaryMetadata {
  PluginData plugin_data = 1;
}

message PluginData {
  string plugin_name = 1;
}

message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  bytes tensor_content = 4;
  repeated float float_val = 5;
  repeated double double_val = 6;
  repeated int32 half_val = 13;
}

message TensorShapeProto {
  message Dim {
    int64 size = 1;
  }
  repeated Dim dim = 2;
}
`;

export type TensorMessage = {
  dtype?: number;
  tensor_shape?: { dim?: { size?: number }[] };
  tensor_content?: Uint8Array;
  float_val?: number[];
  double_val?: number[];
  half_val?: number[];
};

export type ValueMessage = {
  tag?: string;
  metadata?: { plugin_data?: { plugin_name?: string } };
  simple_value?: number;
  tensor?: TensorMessage;
};

export type EventMessage = {
  wall_time?: number;
  step?: number;
  file_version?: string;
  summary?: { value?: ValueMessage[] };
};

const eventType = parse(EVENT_PROTO, { keepCase: true }).root.lookupType("afs.Event");

// Throws on malformed bytes; callers turn that into a warning.
export function decodeEvent({ bytes }: { bytes: Uint8Array }): EventMessage {
  return eventType.toObject(eventType.decode(bytes), { longs: Number }) as EventMessage;
}
