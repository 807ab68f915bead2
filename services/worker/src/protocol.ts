/** Messages between the worker's main thread (compute.ts) and a compute thread (engine-thread.ts). */
import type { AnalysisSpec, Task, TaskResult } from '@hessian/analysis';
import type { BackendName, Convention, ParamGroup } from '@hessian/engine';
import type { AugmentStep, HtrStepSpec } from '@hessian/training';

/** workerData of a compute thread: what to prepare (the model path already resolved). */
export interface ThreadInit {
  spec: AnalysisSpec;
  backend: BackendName;
  shardIndex: number;
  shardCount: number;
  /** Training data for TrainGradient: model + whole data set, no Hessian engine (then shardCount is 1). */
  training: boolean;
}

/** What Prepare's reply needs from the engine, sent once when the thread is ready. */
export interface EngineInfo {
  backend: string;
  backendDetail: string;
  params: number;
  examples: number;
  totalExamples: number;
  lossValue: number;
  modelName: string;
  inputShape: number[];
  dataDescription: string;
  memoryBudgetBytes: number;
  memoryBudgetSource: string;
  engineBytes: number;
  /** Seconds of one full-network HVP over this engine's examples (0: not measured). */
  hvpSeconds: number;
  /** How the engine computes Hessian products (analysis productsLabel); '' in a training thread. */
  products: string;
}

export type ToThread =
  | { type: 'groups'; id: number; convention: Convention }
  /** `flag[0] != 0` stops the task before its next operator product. */
  | { type: 'task'; id: number; task: Task; convention: Convention; flag: Int32Array }
  | { type: 'open'; id: number; stream: number; operator: string; scope: string; convention: Convention }
  /** `v` is transferred (its buffer moves to the thread). */
  | { type: 'matvec'; id: number; stream: number; v: Float32Array }
  | { type: 'release'; stream: number }
  | { type: 'gradient'; id: number }
  /** One training step on examples `indices` at weights `theta` (both transferred). */
  | { type: 'train'; id: number; theta: Float32Array; indices: Int32Array; htr: HtrStepSpec | null; augment: AugmentStep | null };

export type FromThread =
  | { type: 'ready'; info: EngineInfo }
  /** Prepare failed: the thread exits after this. */
  | { type: 'failed'; message: string; code: string | null }
  /** Products done so far by task `id` (at most every 250 ms). */
  | { type: 'progress'; id: number; done: number }
  | { type: 'groups'; id: number; groups: ParamGroup[] }
  | { type: 'result'; id: number; result: TaskResult; done: number }
  | { type: 'opened'; id: number; dim: number }
  /** A product (matvec or gradient); `v`'s buffer is transferred. */
  | { type: 'vector'; id: number; v: Float32Array }
  /** A training step's result; `grad`'s buffer is transferred. */
  | { type: 'trained'; id: number; loss: number; reg: number | null; correct: number; examples: number; seconds: number; grad: Float32Array }
  | { type: 'error'; id: number; message: string; code: string | null; cancelled: boolean; done: number };
