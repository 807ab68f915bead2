/** A hand-built, realistic Report: LeNet-5 on Fashion-MNIST, full network + 4 layers. */
import type { DensityReport, OperatorName, OperatorReport, Report, ScopeReport } from '@hessian/analysis';

/** Deterministic generator for the fixture's synthetic spectra (no Math.random). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** An SLQ-like density: a bulk near zero plus outliers up to lambdaMax, smoothed on a grid. */
export function syntheticDensity(seed: number, lambdaMax: number, runs = 3, steps = 30, gridPoints = 240): DensityReport {
  const rnd = lcg(seed);
  const nodes: number[] = [];
  const weights: number[] = [];
  for (let r = 0; r < runs; r++) {
    for (let j = 0; j < steps; j++) {
      const outlier = j >= steps - 4;
      const v = outlier ? lambdaMax * (0.15 + 0.85 * rnd()) : lambdaMax * 0.02 * (rnd() - 0.35);
      nodes.push(v);
      weights.push(outlier ? 1e-4 * rnd() : 1 + rnd());
    }
  }
  nodes.push(lambdaMax);
  weights.push(1e-4);
  const total = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) weights[i] /= total;
  const lo = Math.min(...nodes);
  const hi = Math.max(...nodes);
  const sigma = Math.sqrt(1e-5 * Math.max(1, hi - lo)) * 3;
  const pad = (hi - lo) * 0.02 + 4 * sigma;
  const grid = Array.from({ length: gridPoints }, (_, i) => lo - pad + ((hi - lo + 2 * pad) * i) / (gridPoints - 1));
  const density = grid.map((x) => {
    let d = 0;
    for (let i = 0; i < nodes.length; i++) d += (weights[i] * Math.exp(-((x - nodes[i]) ** 2) / (2 * sigma * sigma))) / (sigma * Math.sqrt(2 * Math.PI));
    return d;
  });
  return {
    preset: 'papyan',
    runs,
    steps,
    sigma,
    grid,
    density,
    logDensity: density.map((d) => Math.log10(Math.max(d, 1e-12))),
    nodes,
    weights,
    hvps: runs * steps,
  };
}

interface OpArgs {
  top?: number[];
  trace?: [number, number];
  fromFull?: [number, number];
  density?: DensityReport;
  sim?: [number, number];
  seconds: number;
}

function operator(name: OperatorName, a: OpArgs): OperatorReport {
  const o: OperatorReport = { operator: name, hvps: 0, seconds: a.seconds };
  if (a.top) {
    o.top = {
      method: 'lanczos',
      values: a.top,
      residuals: a.top.map((v, i) => Math.abs(v) * 1e-4 * (i + 1)),
      converged: true,
      iterations: 42,
      hvps: 42,
    };
    o.hvps += 42;
  }
  if (a.trace) {
    o.trace = { method: 'hutchinson', mean: a.trace[0], stderr: a.trace[1], probes: 100, hvps: 100 };
    o.hvps += 100;
  }
  if (a.fromFull) o.traceFromFullProbes = { method: 'full-network-probes', mean: a.fromFull[0], stderr: a.fromFull[1], probes: 100, hvps: 0 };
  if (a.density) {
    o.density = a.density;
    o.hvps += a.density.hvps;
  }
  if (a.sim) o.similarity = { wasserstein1: a.sim[0], jensenShannon: a.sim[1] };
  return o;
}

export function fixtureReport(): Report {
  const scopes: ScopeReport[] = [
    {
      name: 'full',
      kind: 'full',
      className: 'Sequential',
      tensors: ['conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias', 'fc1/kernel', 'fc1/bias', 'fc2/kernel', 'fc2/bias', 'fc3/kernel', 'fc3/bias'],
      params: 61706,
      depth: null,
      operators: [
        operator('hessian', { top: [142.7, 38.5, 20.1], trace: [313.4, 9.6], density: syntheticDensity(1, 142.7), seconds: 12.4 }),
        operator('gauss-newton', { top: [139.2, 37.9, 19.6], trace: [301.8, 7.7], density: syntheticDensity(2, 139.2), seconds: 10.1 }),
        operator('residual', { top: [4.87, 2.21, 1.05], trace: [11.6, 3.4], density: syntheticDensity(3, 4.87), seconds: 9.8 }),
      ],
    },
    {
      name: 'conv1',
      kind: 'layer',
      className: 'Conv2D',
      tensors: ['conv1/kernel', 'conv1/bias'],
      params: 156,
      depth: 0,
      operators: [operator('hessian', { top: [8.12, 3.05, 1.77], trace: [21.53, 0.87], fromFull: [20.9, 2.4], seconds: 0.83 })],
    },
    {
      name: 'conv2',
      kind: 'layer',
      className: 'Conv2D',
      tensors: ['conv2/kernel', 'conv2/bias'],
      params: 2416,
      depth: 1 / 3,
      operators: [
        operator('hessian', { top: [31.6, 9.87, 5.02], trace: [102.4, 3.1], fromFull: [99.7, 6.3], density: syntheticDensity(4, 31.6), sim: [0.412, 0.0871], seconds: 3.25 }),
        operator('gauss-newton', { top: [30.9, 9.51, 4.88], trace: [98.6, 2.9], density: syntheticDensity(5, 30.9), sim: [0.398, 0.0802], seconds: 2.9 }),
        operator('residual', { top: [1.12, 0.507, 0.231], trace: [3.8, 1.2], density: syntheticDensity(6, 1.12), sim: [0.0513, 0.141], seconds: 2.7 }),
      ],
    },
    {
      name: 'fc1',
      kind: 'layer',
      className: 'Dense',
      tensors: ['fc1/kernel', 'fc1/bias'],
      params: 48120,
      depth: 2 / 3,
      operators: [
        operator('hessian', { top: [27.4, 7.33, 4.1], trace: [150.9, 5.2], fromFull: [155.2, 11.8], density: syntheticDensity(7, 27.4), sim: [0.287, 0.0523], seconds: 5.61 }),
        operator('gauss-newton', { top: [26.8, 7.02, 3.95], trace: [146.1, 4.6], density: syntheticDensity(8, 26.8), sim: [0.301, 0.0611], seconds: 5.1 }),
        operator('residual', { top: [0.948, 0.412, 0.2], trace: [4.7, 1.9], density: syntheticDensity(9, 0.948), sim: [0.0447, 0.119], seconds: 4.9 }),
      ],
    },
    {
      name: 'fc3',
      kind: 'layer',
      className: 'Dense',
      tensors: ['fc3/kernel', 'fc3/bias'],
      params: 850,
      depth: 1,
      operators: [
        operator('hessian', { top: [118.3, 30.2, 11.9], trace: [38.2, 1.4], fromFull: [37.1, 2.2], density: syntheticDensity(10, 118.3), sim: [1.93, 0.214], seconds: 1.47 }),
      ],
    },
  ];
  let hvps = 0;
  let seconds = 0;
  for (const s of scopes) for (const o of s.operators) {
    hvps += o.hvps;
    seconds += o.seconds;
  }
  return {
    schema: 'hessian-cluster/report/v1',
    createdAt: '2026-11-27T04:30:00.000Z',
    tool: { name: 'hessian-cluster', version: '0.1.0' },
    spec: {
      model: 'zoo:lenet5',
      modelSeed: 0,
      data: 'fashion-mnist:train[0:256]',
      perClass: 0,
      loss: 'cross-entropy',
      layers: { select: 'names', names: ['conv1', 'conv2', 'fc1', 'fc3'] },
      convention: 'layer',
      full: true,
      topK: { k: 3, method: 'lanczos', tol: 1e-4, maxIter: 100 },
      trace: { method: 'hutchinson', probes: 100, targetRelStderr: 0, chunk: 10, fromFullProbes: true },
      density: { runs: 3, steps: 30, preset: 'papyan', gridPoints: 240 },
      gaussNewton: true,
      similarity: true,
      batchSize: 0,
      seed: 7,
      exactMax: 0,
    },
    model: { spec: 'zoo:lenet5', name: 'lenet5', params: 61706, inputShape: [28, 28, 1] },
    data: { spec: 'fashion-mnist:train[0:256]', description: 'Fashion-MNIST training images 0..255', examples: 256 },
    loss: 'cross-entropy',
    convention: 'layer',
    backend: 'native-cpu',
    lossValue: 0.48213,
    scopes,
    totals: { hvps, tasks: 118, seconds: Math.round(seconds * 100) / 100, workers: 2 },
  };
}

/** The fixture with hostile values: NaN, Infinity, empty arrays, markup in names. */
export function hostileReport(): Report {
  const r = fixtureReport();
  r.model.name = 'net <b>&"x"</b>';
  const [full, conv1, conv2, fc1, fc3] = r.scopes;
  conv1.name = 'conv<1>&co';
  full.operators[0].top!.values = [Infinity, NaN, 3];
  conv1.operators[0].trace!.stderr = NaN;
  conv1.operators[0].trace!.mean = Infinity;
  conv2.operators[0].density!.logDensity = conv2.operators[0].density!.logDensity.map((v, i) => (i % 7 === 0 ? NaN : i % 11 === 0 ? -Infinity : v));
  fc1.operators[0].density!.grid = [];
  fc1.operators[0].density!.logDensity = [];
  fc1.operators[0].similarity = { wasserstein1: NaN, jensenShannon: Infinity };
  fc3.operators[0].top!.values = [];
  fc3.depth = null;
  r.lossValue = NaN;
  return r;
}
