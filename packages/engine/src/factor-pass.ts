/**
 * The extended backward pass (BackPACK's DiagGGN-exact / DiagHessian idea, our code):
 * the loss Hessian in the logits is factored per example, H_out = S S^T (softmax
 * cross-entropy: S[:, c] = sqrt(p_c) (e_c - p) / sqrt(N); MSE: sqrt(2 / (N C)) I), and
 * each of the C columns is backpropagated like a gradient. The Gauss-Newton matrix is
 * G = sum_{n,c} g_nc g_nc^T with g_nc the per-example gradient of <logits_n, S[:, c]>, so
 *  - diag(G) = sum_{n,c} g_nc^2 (per layer from its input and delta: factor-rules.ts);
 *  - a layer's dense block G_ll = J_l^T J_l with J_l the [N C, d_l] per-example gradients.
 * For a block whose layer output is linear in its parameters and whose path to the
 * logits is piecewise linear (ReLU, max/avg pooling, BN in inference mode, Add, Dense,
 * Conv2D), H_ll = G_ll exactly (almost everywhere), so both are the Hessian's. Otherwise
 * the block's verdict says why not, and callers fall back to Hessian products.
 * Cost: C backward passes per batch chunk, whatever the number of parameters.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@hessian/linalg';
import type { CompiledLayer } from './layers.js';
import type { HessianEngine } from './hessian.js';
import type { Convention, ModelProgram } from './model.js';
import { dependentNodes, evaluate, logitsOf } from './program.js';
import { layerRows, layerRule, smoothPart, type LayerRule } from './factor-rules.js';

export interface BlockVerdict {
  /** layer name (the group of both conventions) */
  group: string;
  /** H_ll = G_ll, so the pass gives the Hessian's diagonal and block */
  exact: boolean;
  /** the pass has a rule for this layer, so it gives the Gauss-Newton diagonal and block */
  ggn: boolean;
  /** 'exact: ...' or 'not exact: ...' in words, for reports */
  why: string;
}

export interface DiagonalResult {
  /** the Gauss-Newton diagonal, indexed like the flat parameter vector (exact where verdicts say so) */
  diagonal: Float64Array;
  verdicts: BlockVerdict[];
  /** backward passes taken (C per batch chunk) */
  passes: number;
}

interface Setup {
  program: ModelProgram;
  rules: Map<string, LayerRule>;
  verdicts: BlockVerdict[];
  inShapes: Map<string, number[]>;
}

function setupOf(engine: HessianEngine): Setup {
  const model = engine.model;
  if (!model.program) throw new UserError(`Model '${model.name}' does not expose its layers; the Hessian diagonal by backpropagation needs an interpreted model.`);
  const program = model.program();
  const shapes = new Map<string, number[]>([[program.input, model.inputShape]]);
  for (const c of program.layers) shapes.set(c.node.name, c.outShape);
  const inShapes = new Map<string, number[]>();
  for (const c of program.layers) inShapes.set(c.node.name, shapes.get(c.node.inbound[0] ?? program.input) ?? model.inputShape);
  const rules = new Map<string, LayerRule>();
  const verdicts: BlockVerdict[] = [];
  const byName = new Map(program.layers.map((c) => [c.node.name, c]));
  for (const g of model.groups('layer')) {
    const c = byName.get(g.name) as CompiledLayer;
    const rule = layerRule(c, inShapes.get(g.name) as number[]);
    if (typeof rule === 'string') {
      verdicts.push({ group: g.name, exact: false, ggn: false, why: `not exact: ${rule}` });
      continue;
    }
    rules.set(g.name, rule);
    // Everything between the block's linear output and the logits must be piecewise linear.
    const after = dependentNodes(model, program, model.params.map((p, i) => (p.layer === g.name ? i : -1)).filter((i) => i >= 0));
    let smooth: string | null = null;
    for (const d of program.layers) {
      if (!after.has(d.node.name)) continue;
      smooth = smoothPart(d);
      if (smooth) break;
    }
    verdicts.push(
      smooth
        ? { group: g.name, exact: false, ggn: true, why: `not exact: ${smooth} (H = G + R with R != 0 in this block); use Hessian products` }
        : { group: g.name, exact: true, ggn: true, why: `exact: the logits are piecewise linear in this block's parameters (ReLU/pooling/BN/Add/linear layers after it), so its Hessian block equals its Gauss-Newton block` },
    );
  }
  return { program, rules, verdicts, inShapes };
}

/** Verdicts per layer block, without running anything. */
export function factorVerdicts(engine: HessianEngine): BlockVerdict[] {
  return setupOf(engine).verdicts;
}

/** Column c of the per-example factor of H_out, [m, C]. */
function factorColumn(engine: HessianEngine, logits: tf.Tensor2D, c: number): tf.Tensor2D {
  const [m, classes] = logits.shape;
  if (engine.lossName === 'mse') {
    const e = tf.oneHot(tf.fill([m], c, 'int32') as tf.Tensor1D, classes);
    return tf.mul(tf.cast(e, 'float32'), Math.sqrt(2 / (engine.n * classes))) as tf.Tensor2D;
  }
  const p = tf.softmax(logits);
  const pc = tf.slice(p, [0, c], [m, 1]);
  const e = tf.cast(tf.oneHot(tf.fill([m], c, 'int32') as tf.Tensor1D, classes), 'float32');
  return tf.mul(tf.sqrt(tf.div(pc, engine.n)), tf.sub(e, p)) as tf.Tensor2D;
}

interface PassHooks {
  /** layers whose deltas are needed */
  layers: string[];
  /** per chunk and column: deltas of those layers, with the rows of their inputs */
  onColumn(deltas: Map<string, tf.Tensor>, rows: Map<string, tf.Tensor3D>): void;
  /** after the chunk's last column, before its rows are freed */
  onChunkEnd?(rows: Map<string, tf.Tensor3D>): void;
}

/**
 * A caller's stop check, called before each backward pass (a worker's cancel flag): it stops
 * the pass by throwing, and the pass frees what it holds on the way out.
 */
export type PassCheck = () => void;

/** Runs the pass over the engine's chunks; returns the number of backward passes. */
function runPass(engine: HessianEngine, setup: Setup, hooks: PassHooks, check?: PassCheck): number {
  const { program, rules } = setup;
  const params = engine.model.paramTensors();
  const classes = engine.model.outputSize;
  let passes = 0;
  for (const chunk of engine.batchChunks()) {
    const m = chunk.n;
    // One plain forward: the logits and the rows of every needed layer's input.
    const rows = new Map<string, tf.Tensor3D>();
    const logits = tf.tidy(() => {
      const vals = evaluate(program, params, {
        known: new Map([[program.input, chunk.x]]),
        onNode: (c, inputs) => {
          if (!hooks.layers.includes(c.node.name)) return;
          rows.set(c.node.name, tf.keep(layerRows(c, inputs[0], (r) => program.weight(c.node.name, r, params))));
        },
      });
      return logitsOf(engine.model, program, vals, m);
    });
    try {
      for (let c = 0; c < classes; c++) {
        check?.();
        tf.tidy(() => {
          const s = factorColumn(engine, logits, c);
          const names = hooks.layers;
          const eps = names.map((n) => tf.zeros((rules.get(n) as LayerRule).deltaShape(m)));
          const f = (...e: tf.Tensor[]): tf.Scalar => {
            const at = new Map(names.map((n, k) => [n, e[k]]));
            const vals = evaluate(program, params, {
              known: new Map([[program.input, chunk.x]]),
              weight: (layer, role, w) => {
                const r = rules.get(layer.node.name);
                const x = at.get(layer.node.name);
                return x && r && r.inject === role ? tf.add(w, x) : w;
              },
              onNode: (layer, _inputs, y) => {
                const r = rules.get(layer.node.name);
                const x = at.get(layer.node.name);
                return x && r && r.inject === 'output' ? tf.add(y, x) : undefined;
              },
            });
            return tf.sum(tf.mul(logitsOf(engine.model, program, vals, m), s)) as tf.Scalar;
          };
          const ds = tf.grads(f)(eps);
          hooks.onColumn(new Map(names.map((n, k) => [n, ds[k]])), rows);
        });
        passes++;
      }
      hooks.onChunkEnd?.(rows);
    } finally {
      logits.dispose();
      tf.dispose([...rows.values()]);
    }
  }
  return passes;
}

/**
 * The Gauss-Newton diagonal of every parameter (C backward passes per chunk), with a
 * verdict per layer block saying where it is the Hessian's diagonal.
 */
export async function factorDiagonal(engine: HessianEngine, check?: PassCheck): Promise<DiagonalResult> {
  const setup = setupOf(engine);
  const model = engine.model;
  const layers = [...setup.rules.keys()];
  const acc = new Map<number, tf.Tensor>(); // param index -> running sum
  const deltaSq = new Map<string, tf.Tensor>(); // Dense on vectors: sum_c delta^2 in this chunk
  const add = (i: number, t: tf.Tensor): void => {
    const old = acc.get(i);
    acc.set(i, tf.keep(old ? tf.add(old, t) : tf.clone(t)));
    old?.dispose();
  };
  const hooks: PassHooks = {
    layers,
    onColumn: (deltas, rows) => {
      for (const name of layers) {
        const rule = setup.rules.get(name) as LayerRule;
        const input = { rows: rows.get(name) as tf.Tensor3D };
        const delta = deltas.get(name) as tf.Tensor;
        model.params.forEach((p, i) => {
          if (p.layer !== name) return;
          if (p.role === 'kernel' && rule.kernelSquares) {
            const old = deltaSq.get(name);
            deltaSq.set(name, tf.keep(old ? tf.add(old, tf.square(delta)) : tf.square(delta)));
            old?.dispose();
          } else {
            add(i, tf.reshape(tf.sum(tf.square(rule.perExample(p.role, input, delta)), 0), p.shape));
          }
        });
      }
    },
    onChunkEnd: (rows) => {
      tf.tidy(() => {
        for (const [name, dsq] of deltaSq) {
          const rule = setup.rules.get(name) as LayerRule;
          const i = model.params.findIndex((p) => p.layer === name && p.role === 'kernel');
          add(i, (rule.kernelSquares as NonNullable<LayerRule['kernelSquares']>)({ rows: rows.get(name) as tf.Tensor3D }, dsq));
        }
      });
      tf.dispose([...deltaSq.values()]);
      deltaSq.clear();
    },
  };
  let passes: number;
  try {
    passes = runPass(engine, setup, hooks, check);
  } catch (e) {
    tf.dispose([...acc.values(), ...deltaSq.values()]);
    throw e;
  }
  const diagonal = new Float64Array(model.paramCount);
  for (const [i, t] of acc) {
    diagonal.set(await t.data(), model.params[i].offset);
    t.dispose();
  }
  return { diagonal, verdicts: setup.verdicts, passes };
}

/**
 * The dense Gauss-Newton block of one layer group (row-major d x d, float64 sums of
 * float32 products), from the per-example gradients: one pass, no Hessian products.
 */
export async function factorBlock(engine: HessianEngine, group: string, convention: Convention, check?: PassCheck): Promise<{ block: Float64Array; dim: number; verdict: BlockVerdict; passes: number }> {
  const setup = setupOf(engine);
  const verdict = setup.verdicts.find((v) => v.group === group);
  const g = engine.model.groups(convention).find((x) => x.name === group);
  if (!verdict || !g) throw new UserError(`Layer '${group}' has no trainable parameters (${convention}) in model '${engine.model.name}'.`);
  const rule = setup.rules.get(group);
  if (!rule) return { block: new Float64Array(0), dim: g.size, verdict, passes: 0 };
  const d = g.size;
  const block = new Float64Array(d * d);
  const parts: tf.Tensor2D[] = [];
  let passes: number;
  try {
    passes = runPass(engine, setup, {
      layers: [group],
      onColumn: (deltas, rows) => {
        const input = { rows: rows.get(group) as tf.Tensor3D };
        const delta = deltas.get(group) as tf.Tensor;
        const j = tf.concat(g.tensors.map((t) => rule.perExample(t.role, input, delta)), 1) as tf.Tensor2D;
        parts.push(tf.keep(tf.matMul(j, j, true, false)));
      },
    }, check);
  } catch (e) {
    tf.dispose(parts);
    throw e;
  }
  for (const p of parts) {
    const data = await p.data();
    for (let i = 0; i < data.length; i++) block[i] += data[i];
    p.dispose();
  }
  return { block, dim: d, verdict, passes };
}
