// The exact specs of bench/cluster/run.mjs (PartialSpec, normalized before submission); --quick shrinks them.
const QUICK = process.argv.includes('--quick');

export const WORKER_COUNTS = QUICK ? [1, 2] : [1, 2, 4];
export const SCALING_SPEC = QUICK
  ? {
      model: 'zoo:lenet',
      data: 'fashion-mnist:train[0:64]',
      layers: { select: 'all' },
      topK: null,
      trace: { probes: 20, chunk: 10 },
      density: { runs: 1, steps: 20 },
      seed: 11,
    }
  : {
      model: 'zoo:lenet',
      data: 'fashion-mnist:train[0:256]',
      layers: { select: 'all' },
      topK: null,
      trace: { probes: 50, chunk: 10 },
      density: { runs: 3, steps: 40 },
      seed: 11,
    };
export const OVERHEAD_SPEC = {
  model: 'zoo:tiny-mlp',
  data: 'synthetic:64',
  layers: { select: 'all' },
  topK: null,
  trace: { probes: QUICK ? 40 : 100, chunk: 1 },
  density: null,
  similarity: false,
  seed: 3,
};
/** Warm-up (not measured) in every fresh process before the measured lenet runs: kernels, allocator. */
export const WARM_SPEC = {
  model: 'zoo:lenet',
  data: 'fashion-mnist:train[0:32]',
  layers: { select: 'names', names: ['conv1'] },
  full: true,
  topK: null,
  trace: { probes: 4, chunk: 1 },
  density: { runs: 1, steps: 5 },
  seed: 1,
};
export const DP_SPEC = {
  model: 'zoo:lenet',
  data: QUICK ? 'fashion-mnist:train[0:256]' : 'fashion-mnist:train[0:1024]',
  layers: { select: 'names', names: ['fc3'] },
  full: true,
  topK: null,
  trace: { probes: QUICK ? 4 : 20, chunk: QUICK ? 4 : 10 },
  density: null,
  similarity: false,
  seed: 5,
};
