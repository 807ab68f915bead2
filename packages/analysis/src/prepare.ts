/**
 * prepare: spec -> backend, model, data and a HessianEngine, the same way in the CLI's
 * process, in its worker threads and in a cluster worker, so every executor computes with
 * identical inputs.
 */
import { initBackend, loadDataset, modelNeedsConv, loadModel, HessianEngine, type BackendName, type Dataset, type Model } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { checkEngineFits, engineBytes, ropCacheBytes, workerMemoryBudget, type MemoryBudget } from './budget.js';
import { engineShape, examplesOf } from './cost.js';
import type { AnalysisSpec } from './spec.js';

/** The engine's share of the memory budget; `available` is what tasks' vectors may use. */
export interface EngineMemory {
  budget: MemoryBudget;
  engineBytes: number;
  available: number;
}

export interface Prepared {
  backend: string;
  backendDetail: string;
  model: Model;
  data: Dataset;
  engine: HessianEngine;
  memory: EngineMemory;
}

export async function prepare(spec: AnalysisSpec, backend: BackendName = 'auto', opts: { budget?: MemoryBudget } = {}): Promise<Prepared> {
  const budget = opts.budget ?? workerMemoryBudget();
  const info = await initBackend(backend, { needsConv: modelNeedsConv(spec.model) });
  const model = await loadModel(spec.model, { seed: spec.modelSeed });
  // Refuse before loading what would not fit (the data are the only unbounded part).
  const expected = examplesOf(spec.data);
  try {
    if (expected !== null) checkEngineFits(engineShape(model, spec.perClass > 0 ? Math.min(expected, spec.perClass * model.outputSize) : expected, spec.batchSize), budget);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const data = await loadDataset(spec.data, {
    perClass: spec.perClass > 0 ? spec.perClass : undefined,
    seed: spec.seed,
    inputShape: model.inputShape,
    numClasses: model.outputSize,
  });
  const want = model.inputShape.reduce((a: number, b: number) => a * b, 1);
  const got = data.shape.slice(1).reduce((a: number, b: number) => a * b, 1);
  if (want !== got)
    throw new UserError(
      `data: examples of shape [${data.shape.slice(1).join(', ')}] do not fit model input [${model.inputShape.join(', ')}]; choose data made for this model`,
      'INVALID_ARGUMENT',
    );
  const maxLabel = data.labels.reduce((m: number, l: number) => Math.max(m, l), 0);
  if (maxLabel >= model.outputSize)
    throw new UserError(`data: label ${maxLabel} is out of range for a model with ${model.outputSize} outputs; choose data made for this model`);
  // Flat features of the right size (e.g. npy [n, 784] for a [28, 28, 1] model) are the same
  // values in NHWC order, so only the shape changes; the engine sees the model's classes.
  const batch = { ...data, shape: [data.shape[0], ...model.inputShape], numClasses: model.outputSize };
  const shape = engineShape(model, batch.shape[0], spec.batchSize);
  try {
    checkEngineFits(shape, budget);
  } catch (e) {
    model.dispose();
    throw e;
  }
  // R-op products cache every chunk's activations: at most a quarter of what the budget leaves
  // after the engine (the tasks' vectors keep the rest); what it will hold counts as engine bytes.
  const ropCap = Math.max(0, Math.floor((budget.bytes - engineBytes(shape)) / 4));
  const engine = new HessianEngine(model, batch, { loss: spec.loss, batchSize: spec.batchSize > 0 ? spec.batchSize : undefined, ropCacheBytes: ropCap });
  const bytes = engineBytes(shape) + ropCacheBytes(shape, engine.ropCacheLimit);
  return { backend: info.name, backendDetail: info.detail, model, data, engine, memory: { budget, engineBytes: bytes, available: budget.bytes - bytes } };
}

/** How an engine computes Hessian products, in words: 'R-op', or 'autodiff (why)' where a layer has no R-op rule. For the start line and the report. */
export function productsLabel(engine: HessianEngine): string {
  return engine.productMethod === 'rop' ? 'R-op' : `autodiff (${engine.autodiffReason ?? ''})`;
}
