/**
 * Writes small ONNX models for tests with onnx-proto's own encoder (the same package the engine
 * reads with), so every operator can be tested on a tiny graph without Python.
 */
import onnxProto from 'onnx-proto';
import { Rng } from '@hessian/linalg';

const { onnx } = onnxProto;

export type Attr = number | number[] | string | { floats: number[] } | { tensor: { dims: number[]; ints: number[] } };

export interface NodeSpec {
  op: string;
  name?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
}

export interface GraphSpec {
  /** input dims without batch (NCHW), batch is symbolic */
  input: number[];
  output: string;
  nodes: NodeSpec[];
  /** float initializers; values default to seeded normals times `scale` */
  floats?: Record<string, { dims: number[]; values?: number[]; scale?: number; offset?: number }>;
  ints?: Record<string, { dims: number[]; values: number[] }>;
  seed?: number;
  opset?: number;
}

function attr(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return Number.isInteger(v) && !name.match(/alpha|beta|epsilon|value/) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: Buffer.from(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.TENSOR, t: { dims: v.tensor.dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: v.tensor.ints } };
}

export function buildOnnx(g: GraphSpec): Uint8Array {
  const rng = new Rng(g.seed ?? 1);
  const initializer: onnxProto.onnx.ITensorProto[] = [];
  for (const [name, f] of Object.entries(g.floats ?? {})) {
    const n = f.dims.reduce((a, b) => a * b, 1);
    const values = f.values ?? Array.from({ length: n }, () => (f.offset ?? 0) + (f.scale ?? 0.5) * rng.normal());
    initializer.push({ name, dims: f.dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values });
  }
  for (const [name, t] of Object.entries(g.ints ?? {})) {
    initializer.push({ name, dims: t.dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: t.values });
  }
  const dims = [{ dimParam: 'batch' }, ...g.input.map((d) => ({ dimValue: d }))];
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'hessian-cluster test',
    opsetImport: [{ domain: '', version: g.opset ?? 13 }],
    graph: {
      name: 'test-graph',
      node: g.nodes.map((n, i) => ({
        name: n.name ?? `/${n.op.toLowerCase()}${i}/${n.op}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
      })),
      initializer,
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: dims } } } }],
      output: [{ name: g.output, type: { tensorType: { elemType: 1 } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
