/**
 * Reads an ONNX ModelProto (decoded by the maintained `onnx-proto` package, protobufjs) into
 * plain structures: nodes with decoded attributes, initializers as typed arrays, the one
 * input's shape. Every way a file can be truncated or corrupt ends in a UserError here.
 */
import onnxProto from 'onnx-proto';
import { UserError } from '@hessian/linalg';

const { onnx } = onnxProto;
export type ModelProto = InstanceType<typeof onnx.ModelProto>;
type TensorProto = onnxProto.onnx.ITensorProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

/** A decoded constant: float data as Float32Array, integer data as plain numbers. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  kind: 'float' | 'int';
  values: Float32Array | number[];
}

export type AttrValue = number | string | number[] | OnnxTensor | string[];

export interface OnnxNode {
  /** the node's name, or `<OpType>_<index>` when the file gives none */
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

export interface OnnxGraph {
  name: string;
  /** the graph input that is not an initializer */
  input: { name: string; dims: (number | null)[] };
  output: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  opset: number;
  proto: ModelProto;
}

const DT = onnx.TensorProto.DataType;

function toNum(v: number | { toNumber(): number }): number {
  return typeof v === 'number' ? v : v.toNumber();
}

/** Decodes one TensorProto (raw_data or typed fields; float16/bfloat16/strings refused). */
export function decodeTensor(t: TensorProto, source: string): OnnxTensor {
  const name = t.name ?? '';
  const dims = (t.dims ?? []).map(toNum);
  const n = dims.reduce((a, b) => a * b, 1);
  const dt = t.dataType ?? 0;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new UserError(`ONNX tensor '${name}' in ${source} keeps its data in an external file; export the model with its weights inside (torch.onnx.export of a model under 2 GB does this).`);
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const bad = (have: number, want: number): never => {
    throw new UserError(`ONNX tensor '${name}' in ${source} holds ${have} values but its shape [${dims.join(', ')}] needs ${want}; the file is truncated or corrupt.`);
  };
  let kind: 'float' | 'int';
  let values: Float32Array | number[];
  if (dt === DT.FLOAT || dt === DT.DOUBLE) {
    kind = 'float';
    const size = dt === DT.FLOAT ? 4 : 8;
    if (view) {
      if (view.byteLength !== n * size) bad(Math.floor(view.byteLength / size), n);
      values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = size === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
    } else {
      const src = dt === DT.FLOAT ? t.floatData ?? [] : t.doubleData ?? [];
      if (src.length !== n) bad(src.length, n);
      values = Float32Array.from(src);
    }
  } else if (dt === DT.INT64 || dt === DT.INT32 || dt === DT.INT8 || dt === DT.UINT8 || dt === DT.BOOL || dt === DT.INT16) {
    kind = 'int';
    const size = dt === DT.INT64 ? 8 : dt === DT.INT32 ? 4 : dt === DT.INT16 ? 2 : 1;
    if (view) {
      if (view.byteLength !== n * size) bad(Math.floor(view.byteLength / size), n);
      values = [];
      for (let i = 0; i < n; i++) {
        values.push(size === 8 ? Number(view.getBigInt64(i * 8, true)) : size === 4 ? view.getInt32(i * 4, true) : size === 2 ? view.getInt16(i * 2, true) : dt === DT.INT8 ? view.getInt8(i) : view.getUint8(i));
      }
    } else {
      const src = dt === DT.INT64 ? (t.int64Data ?? []).map(toNum) : (t.int32Data ?? []).slice();
      if (src.length !== n) bad(src.length, n);
      values = src;
    }
  } else {
    const names = Object.entries(DT).find(([, v]) => v === dt)?.[0] ?? String(dt);
    throw new UserError(`ONNX tensor '${name}' in ${source} has data type ${names}; the engine reads float32/float64 and integer tensors (export the model in float32).`);
  }
  return { name, dims, kind, values };
}

function decodeAttr(a: AttributeProto, source: string): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT:
      return a.f ?? 0;
    case T.INT:
      return toNum(a.i ?? 0);
    case T.STRING:
      return Buffer.from(a.s ?? new Uint8Array()).toString('utf8');
    case T.TENSOR:
      return decodeTensor(a.t ?? {}, source);
    case T.FLOATS:
      return (a.floats ?? []).slice();
    case T.INTS:
      return (a.ints ?? []).map(toNum);
    case T.STRINGS:
      return (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8'));
    default:
      throw new UserError(`ONNX attribute '${a.name ?? ''}' in ${source} has a type (${String(a.type)}) the engine does not read (graphs, sparse tensors).`);
  }
}

/** Decodes and checks the bytes of a .onnx file. */
export function readOnnx(bytes: Uint8Array, source: string): OnnxGraph {
  let proto: ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new UserError(`${source} is not a valid ONNX model (${(e as Error).message}); the file is truncated or corrupt, export it again.`);
  }
  const g = proto.graph;
  // protobuf decodes a prefix cut at a field boundary without complaint: a model without its
  // graph, nodes or opset (written after the graph) is a truncated file.
  if (!g || !g.node || g.node.length === 0 || !proto.opsetImport || proto.opsetImport.length === 0) {
    throw new UserError(`${source} is not a complete ONNX model (no graph, nodes or opset); the file is truncated or corrupt, export it again.`);
  }
  const opset = Math.max(...proto.opsetImport.filter((o) => !o.domain || o.domain === 'ai.onnx').map((o) => toNum(o.version ?? 0)), 0);
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', decodeTensor(t, source));
  const inputs = (g.input ?? []).filter((i) => !initializers.has(i.name ?? ''));
  const outputs = g.output ?? [];
  if (inputs.length !== 1 || outputs.length !== 1) {
    throw new UserError(`${source} has ${inputs.length} inputs and ${outputs.length} outputs; the engine supports models with one input and one output.`);
  }
  const shape = inputs[0].type?.tensorType?.shape?.dim ?? [];
  const dims = shape.map((d) => (d.dimValue !== undefined && d.dimValue !== null && toNum(d.dimValue) > 0 ? toNum(d.dimValue) : null));
  const nodes: OnnxNode[] = g.node.map((n, i) => {
    const attrs = new Map<string, AttrValue>();
    for (const a of n.attribute ?? []) attrs.set(a.name ?? '', decodeAttr(a, source));
    const opType = n.opType ?? '';
    return { name: n.name ? n.name : `${opType}_${i}`, opType, domain: n.domain ?? '', inputs: (n.input ?? []).slice(), outputs: (n.output ?? []).slice(), attrs };
  });
  return { name: g.name || 'onnx-model', input: { name: inputs[0].name ?? '', dims }, output: outputs[0].name ?? '', nodes, initializers, opset, proto };
}

/** Writes float32 values back into an initializer (raw_data, little-endian). */
export function setInitializer(proto: ModelProto, name: string, values: Float32Array): void {
  const t = proto.graph?.initializer?.find((i) => i.name === name);
  if (!t) throw new Error(`internal: no initializer ${name}`);
  const buf = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i], i * 4);
  t.dataType = DT.FLOAT;
  t.rawData = buf;
  t.floatData = [];
  t.doubleData = [];
}

export function encodeOnnx(proto: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(proto).finish();
}
