/**
 * The flags of an analysis: `hessctl analyze`'s table (shared by submit and sweep) and the
 * PartialSpec they make. The command itself runs in analyze-run.ts (embedded) or
 * analyze-remote.ts (--server); both import this file and neither is imported by it.
 */
import { methodNames, parseLayerSelection, PYHESSIAN_PRESET, type PartialSpec } from '@hessian/analysis/spec';
import type { BackendName } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { choice, givenFlags, intFlag, numFlag, type Command, type Values } from '../flags.js';
import { AUTH_FLAGS } from './auth.js';

export { choice, givenFlags } from '../flags.js';

export const BACKENDS = ['auto', 'tensorflow', 'native', 'wasm', 'cpu', 'webgpu'] as const;

export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'measure the Hessian of a model layer by layer: top eigenvalues, trace and eigenvalue density',
  usage: 'hessctl analyze --model zoo:NAME|PATH/model.json|PATH.onnx|PATH.keras|PATH.h5 [--data SPEC] [flags]',
  flags: [
    { name: 'model', type: 'string', arg: 'SPEC', help: 'zoo:NAME (see `hessctl models`), the path of a tfjs model.json with its weight files, a .onnx file (PyTorch: torch.onnx.export) or a Keras .h5 / .keras file' },
    { name: 'model-seed', type: 'string', arg: 'N', default: '0', help: "seed of a zoo model's initial weights (ignored for model.json)" },
    { name: 'data', type: 'string', arg: 'SPEC', default: 'fashion-mnist:train[0:256]', help: 'examples the loss is averaged over: fashion-mnist:train[a:b] | fashion-mnist:test[a:b] | idx:IMAGES,LABELS[a:b] | npy:X.npy,Y.npy[a:b] | synthetic:N' },
    { name: 'per-class', type: 'string', arg: 'K', help: 'balanced subset: the first K examples of each class within --data (the paper uses 10)' },
    { name: 'layers', type: 'string', arg: 'SEL', default: 'all', help: 'layers to analyze: all | middle (the middle LAYERS, floor(n/4)..floor(3n/4) of the n layers with parameters, each whole; on lenet conv2, fc1) | name,name,... | /regex/' },
    { name: 'convention', type: 'string', arg: 'C', default: 'layer', help: "layer block: layer (kernel and bias) | weights-only (kernel only, as the paper's code)" },
    { name: 'no-full', type: 'boolean', help: 'skip the full-network Hessian (also turns off ESD similarity)' },
    { name: 'top-k', type: 'string', arg: 'K', default: '3', help: 'number of top eigenvalues per scope' },
    { name: 'no-top-k', type: 'boolean', help: 'skip top eigenvalues' },
    { name: 'eig-method', type: 'string', arg: 'M', default: 'lanczos', help: "lanczos (full reorthogonalization, stops on the Ritz residual) | power (PyHessian's power iteration with deflation)" },
    { name: 'eig-tol', type: 'string', arg: 'T', default: '1e-4', help: 'lanczos: relative residual; power: relative change of the eigenvalue' },
    { name: 'eig-max-iter', type: 'string', arg: 'N', default: '100', help: 'lanczos steps, or power iterations per eigenvalue' },
    { name: 'trace-probes', type: 'string', arg: 'N', default: '100', help: 'Hutchinson probe budget (hutch++: matvec budget) per scope' },
    { name: 'no-trace', type: 'boolean', help: 'skip the trace' },
    { name: 'trace-method', type: 'string', arg: 'M', default: 'auto', help: 'auto (the exact Hessian diagonal by backpropagation where it is exact, else Hutchinson) | exact-diagonal | hutchinson (Rademacher probes) | hutch++' },
    { name: 'exact-max', type: 'string', arg: 'N', default: '1000', help: 'compute scopes of at most N parameters exactly (dense block, every eigenvalue) when that costs no more than estimating them; 0: never' },
    { name: 'trace-target', type: 'string', arg: 'R', default: '0', help: "stop a scope's trace once its standard error is at most R times |trace| (0: use the whole budget)" },
    { name: 'trace-chunk', type: 'string', arg: 'N', default: '10', help: 'probes per task (the unit of parallel work and of early stopping)' },
    { name: 'trace-from-full', type: 'boolean', help: "also estimate every layer's trace from full-network probes (one HVP samples all layers) and report its error beside the per-block estimate" },
    { name: 'density-runs', type: 'string', arg: 'N', default: '5', help: 'stochastic Lanczos quadrature runs per scope for the eigenvalue density (ESD)' },
    { name: 'density-steps', type: 'string', arg: 'N', default: '80', help: 'Lanczos steps per density run' },
    { name: 'density-preset', type: 'string', arg: 'P', default: 'papyan', help: 'papyan (spectrum bounds, log density) | pyhessian (10000-point grid, sigma^2 = 1e-5 max(1, range))' },
    { name: 'density-grid', type: 'string', arg: 'N', help: 'grid points of the smoothed density (default: 1000 papyan, 10000 pyhessian)' },
    { name: 'no-density', type: 'boolean', help: 'skip the density (and the similarity)' },
    { name: 'no-similarity', type: 'boolean', help: "skip the distances between each layer's ESD and the full network's" },
    { name: 'gauss-newton', type: 'boolean', help: 'also analyze the Gauss-Newton part G = J^T H_out J and the residual H - G' },
    { name: 'preset', type: 'string', arg: 'P', help: "pyhessian: PyHessian's defaults (power iteration, top-1, tol 1e-3, 100 probes, 1 density run of 100 steps); explicit flags still win" },
    { name: 'loss', type: 'string', arg: 'L', default: 'cross-entropy', help: 'cross-entropy (softmax on logits) | mse (on one-hot targets)' },
    { name: 'seed', type: 'string', arg: 'N', default: '0', help: 'seed of every random choice (probes, start vectors); same seed, same numbers' },
    { name: 'workers', type: 'string', arg: 'N', default: '1', help: 'local worker threads; the numbers do not change with N' },
    { name: 'backend', type: 'string', arg: 'B', default: 'auto', help: 'auto | tensorflow | native | wasm | cpu | webgpu (or set HESSIAN_BACKEND)' },
    { name: 'batch-size', type: 'string', arg: 'N', help: 'micro-batch for HVPs, to bound memory (default: the whole data at once)' },
    { name: 'dry-run', type: 'boolean', help: 'print the plan and its predicted cost (tasks, products, memory, time on 1-16 workers) from one calibration product on this machine; compute nothing else' },
    { name: 'server', type: 'string', arg: 'HOST:PORT', help: 'run on a cluster: submit to the coordinator at HOST:PORT, follow its events, print the same report (default: $HESSIAN_SERVER when set, else run embedded in this process)' },
    ...AUTH_FLAGS,
    { name: 'scope', type: 'string', arg: 'S', default: 'batch', help: 'with --server: batch (every worker holds all examples) | dataset (examples sharded over the workers, each HVP summed over shards)' },
    { name: 'shards', type: 'string', arg: 'S', help: 'with --scope dataset: split the examples into S shards, fixed for the job, so the numbers are the same bit for bit on any number of workers (default: one shard per live worker when the job starts)' },
    { name: 'embedded', type: 'boolean', help: 'run in this process even when HESSIAN_SERVER is set' },
    { name: 'out', type: 'string', arg: 'DIR', help: 'write report.json, report.md and SVG figures here' },
    { name: 'diagonal', type: 'string', arg: 'DIR', help: 'also write the Hessian diagonal of each analyzed layer (by backpropagation, where exact) as DIR/LAYER.npy, with DIR/diagonal.json (embedded runs)' },
    { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json (the report on stdout)' },
    { name: 'quiet', short: 'q', type: 'boolean', help: 'no progress on stderr' },
    { name: 'help', short: 'h', type: 'boolean', help: 'show this help' },
  ],
  examples: [
    'hessctl analyze --model zoo:lenet --data fashion-mnist:train[0:1000] --out reports/lenet',
    'hessctl analyze --model zoo:mlp --top-k 3 --trace-probes 200 --density-runs 5',
    'hessctl analyze --model ./my-model/model.json --data npy:x.npy,y.npy --layers middle --format json',
    'hessctl analyze --model zoo:lenet --per-class 10 --preset pyhessian --convention weights-only',
    'hessctl analyze --server 127.0.0.1:7070 --model zoo:lenet --data fashion-mnist:train[0:256]   (on a cluster: `hessctl cluster up`)',
  ],
};

/** Drops undefined fields so spreading does not erase preset or default values. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Flags -> PartialSpec. Explicit flags win over a preset; a preset wins over the defaults. */
export function specFromFlags(values: Values, given: Set<string>): PartialSpec {
  const preset = choice(values, 'preset', ['pyhessian'] as const);
  // Under a preset, only flags the user wrote override it; parser defaults do not.
  const v = (name: string) => (given.has(name) || !preset ? values : {});
  if (typeof values.model !== 'string') throw new UserError('--model is required: give zoo:NAME (see `hessctl models`) or the path of a model.json');
  const p = preset ? PYHESSIAN_PRESET : undefined;
  // Checked even when --no-top-k turns it off: a bad value is refused, not silently ignored.
  const topKFlags = {
        ...(p?.topK ?? {}),
        ...defined({
          k: intFlag(v('top-k'), 'top-k', 1),
          method: choice(v('eig-method'), 'eig-method', methodNames('topK')),
          tol: numFlag(v('eig-tol'), 'eig-tol', Number.MIN_VALUE),
          maxIter: intFlag(v('eig-max-iter'), 'eig-max-iter', 1),
        }),
      };
  // Checked even when --no-trace turns it off: a bad value is refused, not silently ignored.
  const traceFlags = {
        ...(p?.trace ?? {}),
        ...defined({
          probes: intFlag(v('trace-probes'), 'trace-probes', 1),
          method: choice(v('trace-method'), 'trace-method', methodNames('trace')),
          targetRelStderr: numFlag(v('trace-target'), 'trace-target', 0),
          chunk: intFlag(v('trace-chunk'), 'trace-chunk', 1),
          fromFullProbes: values['trace-from-full'] === true ? true : undefined,
        }),
      };
  // Checked even when --no-density turns it off: a bad value is refused, not silently ignored.
  const densityFlags = {
        ...(p?.density ?? {}),
        ...defined({
          runs: intFlag(v('density-runs'), 'density-runs', 1),
          steps: intFlag(v('density-steps'), 'density-steps', 1),
          preset: choice(v('density-preset'), 'density-preset', ['pyhessian', 'papyan'] as const),
          gridPoints: intFlag(values, 'density-grid', 2),
        }),
      };
  const topK = values['no-top-k'] ? null : topKFlags;
  const trace = values['no-trace'] ? null : traceFlags;
  const density = values['no-density'] ? null : densityFlags;
  // The grid default follows the density preset unless --density-grid says otherwise.
  if (density && !given.has('density-grid')) density.gridPoints = density.preset === 'pyhessian' ? 10000 : 1000;
  return {
    model: values.model,
    modelSeed: intFlag(values, 'model-seed', 0),
    data: values.data as string,
    perClass: intFlag(values, 'per-class', 1) ?? 0,
    loss: choice(values, 'loss', ['cross-entropy', 'mse'] as const),
    layers: parseLayerSelection(String(values.layers)),
    convention: choice(values, 'convention', ['layer', 'weights-only'] as const),
    full: !values['no-full'],
    topK,
    trace,
    density,
    gaussNewton: values['gauss-newton'] === true,
    similarity: values['no-similarity'] || values['no-full'] || values['no-density'] ? false : undefined,
    batchSize: intFlag(values, 'batch-size', 1) ?? 0,
    seed: intFlag(values, 'seed', 0, 0xffffffff),
    exactMax: intFlag(values, 'exact-max', 0),
  };
}

export function backendFrom(values: Values, argv: string[]): BackendName {
  const flag = choice(values, 'backend', BACKENDS) ?? 'auto';
  const env = process.env.HESSIAN_BACKEND;
  if (env && !givenFlags(argv).has('backend')) {
    if (!(BACKENDS as readonly string[]).includes(env)) throw new UserError(`HESSIAN_BACKEND: must be one of ${BACKENDS.join(', ')}, got "${env}"`);
    return env as BackendName;
  }
  return flag;
}

/** The coordinator analyze submits to: --server, else HESSIAN_SERVER unless --embedded; undefined: run embedded. */
export function analyzeServer(values: Values, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (typeof values.server === 'string') {
    if (values.embedded === true) throw new UserError('--server and --embedded contradict each other; give one of them');
    if (values.server.trim() === '') throw new UserError('--server: is empty; give HOST:PORT of the coordinator, e.g. 127.0.0.1:7070');
    return values.server.trim();
  }
  if (values.embedded === true) return undefined;
  const e = env.HESSIAN_SERVER?.trim();
  return e ? e : undefined;
}

/** `--shards S` (dataset scope only; 0 when not given). */
export function shardsFlag(values: Values, scope: 'batch' | 'dataset'): number {
  const n = intFlag(values, 'shards', 1, 256);
  if (n === undefined) return 0;
  if (scope !== 'dataset') throw new UserError(`--shards: only --scope dataset splits the examples; drop --shards or give --scope dataset`);
  return n;
}
