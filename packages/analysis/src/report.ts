/**
 * The Report: the JSON document every analysis ends in, embedded or distributed.
 * Versioned by `schema`; a change that removes or renames a field bumps the version.
 * Documented field by field in packages/analysis/REPORT.md. Every estimate carries its
 * error (standard error, Ritz residual, runs and steps) and the HVPs it cost.
 */
import type { PlannedScope } from './scope.js';
import type { AnalysisSpec, Convention, DensityPreset, EigenMethod, TraceMethod } from './spec.js';

export const REPORT_SCHEMA = 'hessian-cluster/report/v1';

export type OperatorName = 'hessian' | 'gauss-newton' | 'residual';

export interface EigenReport {
  /** 'exact': eigenvalues of the formed block (estimators/exact-block.ts) */
  method: EigenMethod | 'exact';
  /**
   * 'slq': the Ritz values of the first SLQ run's Lanczos process (estimators/slq-density.ts),
   * not a run of its own; `iterations` are that run's steps, `hvps` the k residual products.
   */
  from?: 'slq';
  /** Descending. */
  values: number[];
  /** ||A x - theta x|| of each returned (unit) vector. */
  residuals: number[];
  converged: boolean;
  iterations: number;
  hvps: number;
}

export interface TraceReport {
  /** 'exact': sum of the exact diagonal or of the formed block's eigenvalues (stderr 0, probes 0) */
  method: TraceMethod | 'full-network-probes' | 'exact';
  mean: number;
  /** Standard error of the mean (Hutch++: of its Hutchinson part on the deflated residual). */
  stderr: number;
  probes: number;
  hvps: number;
  /** why this method ran (trace-method auto / exact-diagonal) */
  why?: string;
}

/** Which method produced a quantity, and why (the exact rule, a verdict, the spec). */
export interface MethodChoice {
  method: string;
  why: string;
}

export interface DensityReport {
  /** 'exact': nodes are every eigenvalue of the formed block, weights 1/n (absent: SLQ) */
  method?: 'exact';
  preset: DensityPreset;
  runs: number;
  steps: number;
  sigma: number;
  grid: number[];
  density: number[];
  /** log10 of the density (floored), as plotted in the paper's figures. */
  logDensity: number[];
  /** The quadrature measure behind the curve: Ritz values and weights of all runs (weights sum to 1). */
  nodes: number[];
  weights: number[];
  hvps: number;
  /**
   * Where Lanczos ran on the span of a fixed Dense input (fewer examples than its width): the
   * exact zero eigenvalues left out (in `nodes`/`weights` as a node at 0), that layer, the
   * input's rank and width.
   */
  exactZeros?: { count: number; layer: string; rank: number; width: number };
}

export interface SimilarityReport {
  /** Wasserstein-1 distance between the layer's ESD measure and the full network's, on the eigenvalue axis. */
  wasserstein1: number;
  /** Jensen-Shannon divergence (natural log, in [0, ln 2]) between the smoothed densities on a common grid. */
  jensenShannon: number;
}

export interface OperatorReport {
  operator: OperatorName;
  top?: EigenReport;
  trace?: TraceReport;
  /** Layers only: the trace estimated from full-network probes, v_l^T (H v)_l. */
  traceFromFullProbes?: TraceReport;
  density?: DensityReport;
  /** Layers only: distance of this layer's ESD to the full network's (same operator). */
  similarity?: SimilarityReport;
  /** Which method produced each quantity and why (exact rule, verdicts): estimators/exact-rule.ts */
  methods?: { top?: MethodChoice; trace?: MethodChoice; density?: MethodChoice };
  hvps: number;
  seconds: number;
}

/** A planned scope (name, kind, className, tensors, params, depth; see scope.ts) and its operators' results. */
export interface ScopeReport extends PlannedScope {
  operators: OperatorReport[];
}

/** One tensor of an imported model: our name, its slice of the parameter vector and shape, the file's tensor name and the layout change. */
export interface ParameterOrigin {
  tensor: string;
  offset: number;
  size: number;
  shape: number[];
  origin: string;
  layout: string;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  createdAt: string;
  tool: { name: string; version: string };
  spec: AnalysisSpec;
  model: { spec: string; name: string; params: number; inputShape: number[] };
  /** imported models only: our parameter order mapped to the file's tensors (PyTorch state_dict names for torch.onnx exports) */
  parameters?: ParameterOrigin[];
  data: { spec: string; description: string; examples: number };
  loss: string;
  convention: Convention;
  backend: string;
  /**
   * How the Hessian products were computed: 'R-op' (engine/src/rop.ts) or 'autodiff (why)'
   * (double backpropagation, where a layer has no R-op rule). The two agree to about 1e-7.
   */
  products?: string;
  /** Loss of the model on the analyzed examples. */
  lossValue: number;
  scopes: ScopeReport[];
  totals: { hvps: number; tasks: number; seconds: number; workers: number };
}
