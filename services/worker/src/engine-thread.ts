/**
 * Entry point of a compute thread: prepares one engine (model + data [+ shard]) and runs
 * everything that computes with it — tasks, Hvp products, gradients — so that the main
 * thread's event loop (gRPC, NATS heartbeats, cancellation, metrics) never waits for tfjs.
 * Tasks check their shared cancel flag (Atomics) before each operator product and between the
 * micro-batches of one, so a cancelled task's product stops within one micro-batch.
 *
 * A thread prepared for training (ThreadInit.training) holds the model and the whole training
 * set instead of a Hessian engine and serves TrainGradient steps only.
 */
import { calibrateHvp, errorMessage, executeTask, prepare, productsLabel, scopeOf, workerMemoryBudget, type ComputeContext, type EngineMemory } from '@hessian/analysis';
import { HessianEngine, initBackend, loadModel, modelNeedsConv, sliceBatch, type Batch, type Dataset, type Model, type OperatorKind, type ParamGroup } from '@hessian/engine';
import { Augmenter, BlockCache, htrTerm, loadTrainingData, shardGradient } from '@hessian/training';
import { UserError, type LinearOperator } from '@hessian/linalg';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromThread, ThreadInit, ToThread } from './protocol.js';

const port = parentPort!;
const { spec, backend, shardIndex, shardCount, training } = workerData as ThreadInit;
const send = (m: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

class Stopped extends Error {}

/** A product's buffer can move to the main thread without a copy when the array owns it whole. */
function movable(v: Float32Array): { v: Float32Array; transfer: ArrayBuffer[] } {
  if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer) return { v, transfer: [v.buffer] };
  const c = v.slice();
  return { v: c, transfer: [c.buffer] };
}

interface Built {
  /** null in a training thread */
  engine: HessianEngine | null;
  /** null in a training thread (no analysis tasks run there) */
  memory: EngineMemory | null;
  /** The examples this engine computes with (the shard), for the calibration product. */
  batch: Batch | null;
  prepared: { backend: string; backendDetail: string; model: Model; data: Dataset };
  examples: number;
  total: number;
}

/** A training thread: the model (its weights come with each step) and the training set, loaded as packages/training loads it. */
async function buildTraining(): Promise<Built> {
  const info = await initBackend(backend, { needsConv: modelNeedsConv(spec.model) });
  const model = await loadModel(spec.model, { seed: spec.modelSeed });
  const data = await loadTrainingData(spec.data, model, spec.seed, undefined, 'data');
  const total = data.shape[0];
  return { engine: null, memory: null, batch: null, prepared: { backend: info.name, backendDetail: info.detail, model, data }, examples: total, total };
}

async function build(): Promise<Built> {
  if (training) return buildTraining();
  const p = await prepare(spec, backend);
  const total = p.data.shape[0];
  const whole = { ...p.data, shape: [total, ...p.model.inputShape], numClasses: p.model.outputSize };
  if (shardCount <= 1) return { engine: p.engine, memory: p.memory, batch: whole, prepared: p, examples: total, total };
  const start = Math.floor((shardIndex * total) / shardCount);
  const end = Math.floor(((shardIndex + 1) * total) / shardCount);
  if (end <= start) {
    p.engine.dispose();
    p.model.dispose();
    throw new UserError(`scope: ${total} examples cannot be split into ${shardCount} shards; use more data or fewer workers`, 'FAILED_PRECONDITION');
  }
  p.engine.dispose();
  const batch = sliceBatch(whole, start, end);
  const engine = new HessianEngine(p.model, batch, { loss: spec.loss, batchSize: spec.batchSize > 0 ? spec.batchSize : undefined });
  return { engine, memory: p.memory, batch, prepared: p, examples: end - start, total };
}

let built: Awaited<ReturnType<typeof build>>;
try {
  built = await build();
} catch (e) {
  send({ type: 'failed', ...errorMessage(e) });
  process.exit(0);
}
const { engine: maybeEngine, prepared, examples, total, memory, batch } = built!;
/** Tasks running at once share what the engine leaves of the budget. */
const capacity = Math.max(1, Number(process.env['HESSIAN_WORKER_CAPACITY'] ?? 1) || 1);
const taskMemory = { available: memory ? memory.available / capacity : Infinity };
const streams = new Map<number, LinearOperator>();
const blocks = new BlockCache(prepared.model);
const augmenter = new Augmenter(prepared.data);
/** Training steps one at a time: each sets the weights it was sent before computing. */
let trainChain: Promise<void> = Promise.resolve();

function hessianEngine(): HessianEngine {
  if (!maybeEngine) throw new UserError('this engine was prepared for training (Prepare with training = true) and serves TrainGradient only; prepare it without training for tasks and products', 'FAILED_PRECONDITION');
  return maybeEngine;
}

async function trainStep(m: Extract<ToThread, { type: 'train' }>): Promise<void> {
  for (const i of m.indices) if (i >= total) throw new UserError(`TrainGradient: example index ${i} is out of range for a training set of ${total} examples; the trainer and the worker disagree on --data`);
  prepared.model.setFlatParams(m.theta);
  const t0 = performance.now();
  const term = m.htr ? htrTerm(blocks.get(m.htr.layers, m.htr.convention), m.htr) : undefined;
  const r = await shardGradient(prepared.model, prepared.data, m.indices, term, m.augment ? { augmenter, step: m.augment } : undefined);
  const { v, transfer } = movable(r.grad);
  send({ type: 'trained', id: m.id, loss: r.loss, reg: r.reg ?? null, correct: r.correct, examples: r.examples, seconds: (performance.now() - t0) / 1000, grad: v }, transfer);
}

/** executeTask on a checking operator: yields to this thread's event loop and checks the flag before each product. */
async function runTask(m: Extract<ToThread, { type: 'task' }>): Promise<void> {
  let done = 0;
  let last = 0;
  const check = (): void => {
    if (Atomics.load(m.flag, 0) !== 0) throw new Stopped();
  };
  // Every product yields to this thread's other messages, checks the cancel flag and reports progress.
  const progressing = (op: LinearOperator): LinearOperator => ({
    dim: op.dim,
    matvec: async (v: Float32Array) => {
      // Let this thread's other messages (Hvp vectors, other tasks) in between products.
      await new Promise((r) => setImmediate(r));
      check();
      const r = await op.matvec(v);
      done++;
      check();
      const now = Date.now();
      if (now - last > 250) {
        last = now;
        send({ type: 'progress', id: m.id, done });
      }
      return r;
    },
  });
  const wrapped: ComputeContext = {
    // Checked between micro-batches too: a product over many examples stops within one of them.
    operator: (kind, scope): LinearOperator => progressing(hessianEngine().operator(kind, scope, check)),
    spanOperator: async (kind, scope) => {
      const span = await hessianEngine().spanOperator(kind, scope, check);
      return span && { ...span, op: progressing(span.op) };
    },
    scopeOffsets: (s) => hessianEngine().scopeOffsets(s),
    // Exact curvature by backpropagation: one pass of C backward passes per micro-batch, the flag
    // checked before each (a big model's pass takes minutes; a cancel must not wait for it).
    hessianDiagonal: (s, k) => hessianEngine().hessianDiagonal(s, k, check),
    denseBlock: (k, s) => hessianEngine().denseBlock(k, s, check),
    curvatureVerdict: (s) => hessianEngine().curvatureVerdict(s),
  };
  try {
    const result = await executeTask(m.task, wrapped, m.convention, taskMemory);
    send({ type: 'result', id: m.id, result, done });
  } catch (e) {
    send({ type: 'error', id: m.id, ...errorMessage(e), cancelled: e instanceof Stopped, done });
  }
}

async function handle(m: ToThread): Promise<void> {
  switch (m.type) {
    case 'task':
      return runTask(m);
    case 'release':
      streams.delete(m.stream);
      return;
    case 'train': {
      const run = trainChain.then(() => trainStep(m));
      trainChain = run.catch((e: unknown) => send({ type: 'error', id: m.id, ...errorMessage(e), cancelled: false, done: 0 }));
      return trainChain;
    }
  }
  try {
    switch (m.type) {
      case 'groups': {
        const groups: ParamGroup[] = prepared.model.groups(m.convention).map((g) => ({
          name: g.name,
          className: g.className,
          size: g.size,
          // imported models also send each tensor's origin (the report maps our order to the file's names)
          tensors: g.tensors.map((t) => ({ name: t.name, offset: t.offset, size: t.size, ...(t.origin ? { shape: t.shape, origin: t.origin } : {}) })),
        }));
        send({ type: 'groups', id: m.id, groups });
        return;
      }
      case 'open': {
        const op = hessianEngine().operator(m.operator as OperatorKind, scopeOf(m.scope, m.convention));
        streams.set(m.stream, op);
        send({ type: 'opened', id: m.id, dim: op.dim });
        return;
      }
      case 'matvec': {
        const op = streams.get(m.stream);
        if (!op) throw new Error(`Hvp stream ${m.stream} is not open`);
        const { v, transfer } = movable(await op.matvec(m.v));
        send({ type: 'vector', id: m.id, v }, transfer);
        return;
      }
      case 'gradient': {
        const { v, transfer } = movable(await hessianEngine().gradient());
        send({ type: 'vector', id: m.id, v }, transfer);
        return;
      }
    }
  } catch (e) {
    send({ type: 'error', id: m.id, ...errorMessage(e), cancelled: false, done: 0 });
  }
}

port.on('message', (m: ToThread) => void handle(m));
const model = prepared.model;
send({
  type: 'ready',
  info: {
    backend: prepared.backend,
    backendDetail: prepared.backendDetail,
    params: model.paramCount,
    examples,
    totalExamples: total,
    // A training thread evaluates no loss: Prepare would pay a forward pass over the whole training set.
    lossValue: maybeEngine ? await maybeEngine.loss() : 0,
    modelName: model.name,
    inputShape: model.inputShape,
    dataDescription: prepared.data.description,
    memoryBudgetBytes: memory?.budget.bytes ?? workerMemoryBudget().bytes,
    memoryBudgetSource: memory?.budget.source ?? workerMemoryBudget().source,
    engineBytes: memory?.engineBytes ?? 0,
    hvpSeconds: maybeEngine && batch && process.env['HESSIAN_CALIBRATE'] !== '0' ? await calibrateHvp(model, batch, spec.batchSize, spec.loss) : 0,
    products: maybeEngine ? productsLabel(maybeEngine) : '',
  },
});
