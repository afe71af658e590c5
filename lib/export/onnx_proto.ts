// The few ONNX protobuf messages a feed-forward model needs, written directly in the protobuf wire
// format: each field is a key (field number << 3 | wire type) followed by a varint (type 0), a
// little-endian 32-bit value (type 5) or a length-prefixed byte string or message (type 2).
// Field numbers are those of onnx.proto (proto2; repeated numbers are written unpacked, which
// every protobuf reader accepts).

import { endianness } from 'node:os';

const LITTLE = endianness() === 'LE';
const VARINT = 0;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** A message under construction: its encoded fields, in order. */
class Message {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): this {
    this.chunks.push(bytes);
    this.length += bytes.length;
    return this;
  }

  private key(field: number, wireType: number): void {
    this.push(varint(BigInt(field * 8 + wireType)));
  }

  int(field: number, value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf field ${field}: ${value} is not an integer`);
    this.key(field, VARINT);
    // int64: a negative value is its 64-bit two's complement.
    return this.push(varint(BigInt.asUintN(64, BigInt(value))));
  }

  ints(field: number, values: readonly number[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    return this.push(bytes);
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, LENGTH_DELIMITED);
    this.push(varint(BigInt(value.length)));
    return this.push(value);
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A nested message: its chunks are shared, not copied, until the outermost encode(). */
  message(field: number, value: Message): this {
    this.key(field, LENGTH_DELIMITED);
    this.push(varint(BigInt(value.length)));
    for (const c of value.chunks) this.push(c);
    return this;
  }

  encode(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function varint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = value;
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return Uint8Array.from(out);
}

/** An attribute value: a float, an integer, or a list of integers. */
export type AttributeValue = { float: number } | { int: number } | { ints: readonly number[] };

export interface OnnxNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
}

/** A float32 constant of the graph (a weight). */
export interface OnnxInitializer {
  name: string;
  dims: readonly number[];
  data: Float32Array;
}

/** A graph input or output: float32, each dimension a size or a symbolic name (the batch). */
export interface OnnxValue {
  name: string;
  dims: readonly (number | string)[];
}

export interface OnnxModel {
  graphName: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  /** The version of the default (ai.onnx) operator set. */
  opset: number;
  producer: { name: string; version: string };
  doc?: string;
  metadata?: Record<string, string>;
}

// onnx.proto: TensorProto.DataType FLOAT, AttributeProto.AttributeType FLOAT/INT/INTS, and the IR
// version that goes with operator set 17 (ONNX 1.12).
const FLOAT = 1;
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;
export const IR_VERSION = 8;

function attribute(name: string, value: AttributeValue): Message {
  const m = new Message().string(1, name);
  if ('float' in value) return m.float(2, value.float).int(20, ATTRIBUTE_FLOAT);
  if ('int' in value) return m.int(3, value.int).int(20, ATTRIBUTE_INT);
  return m.ints(8, value.ints).int(20, ATTRIBUTE_INTS);
}

function node(n: OnnxNode): Message {
  const m = new Message();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.op);
  for (const [name, value] of Object.entries(n.attributes ?? {})) m.message(5, attribute(name, value));
  return m;
}

function tensor(t: OnnxInitializer): Message {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length) throw new RangeError(`initializer '${t.name}' has ${t.data.length} values but dims [${t.dims.join(', ')}]`);
  // raw_data is little-endian whatever the host (on a little-endian one, the array's own bytes).
  let raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (!LITTLE) {
    raw = new Uint8Array(4 * t.data.length);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < t.data.length; i++) view.setFloat32(4 * i, t.data[i]!, true);
  }
  return new Message().ints(1, t.dims).int(2, FLOAT).string(8, t.name).bytes(9, raw);
}

function valueInfo(v: OnnxValue): Message {
  const shape = new Message();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  const tensorType = new Message().int(1, FLOAT).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

/** The ModelProto bytes of `model`: what an `.onnx` file holds. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const graph = new Message();
  for (const n of model.nodes) graph.message(1, node(n));
  graph.string(2, model.graphName);
  for (const t of model.initializers) graph.message(5, tensor(t));
  for (const v of model.inputs) graph.message(11, valueInfo(v));
  for (const v of model.outputs) graph.message(12, valueInfo(v));
  const m = new Message()
    .int(1, IR_VERSION)
    .string(2, model.producer.name)
    .string(3, model.producer.version);
  if (model.doc) m.string(6, model.doc);
  m.message(7, graph);
  m.message(8, new Message().int(2, model.opset));
  for (const [key, value] of Object.entries(model.metadata ?? {})) m.message(14, new Message().string(1, key).string(2, value));
  return m.encode();
}
