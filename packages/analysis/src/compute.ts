/**
 * ComputeContext: everything a task may ask of the machine it runs on. The engine
 * (`HessianEngine`) implements it in-process and in worker threads; the worker's compute
 * thread implements it with a cancel check before each product; the coordinator implements
 * it for the data-parallel scope with operators that sum the shards' products over gRPC.
 * Estimators see only this interface, never a concrete engine.
 */
import type { OperatorKind, Scope, SpanOperator, TensorSlice } from '@hessian/engine';
import type { LinearOperator } from '@hessian/linalg';

/** A contiguous range of the flat parameter vector. */
export type ParamRange = Pick<TensorSlice, 'offset' | 'size'>;

export interface ComputeContext {
  /** The operator (Hessian, Gauss-Newton part or residual) of a scope; its dim is the scope's parameter count. */
  operator(kind: OperatorKind, scope: Scope): LinearOperator;
  /** Where a scope's parameters lie in the full network's flat vector (tensor order). */
  scopeOffsets(scope: Scope): ParamRange[];
  /**
   * Optional capabilities. An estimator that needs one checks for it and, when the context
   * lacks it, throws a UserError that says which runner (backend, scope) provides it. A new
   * capability is one more optional member here plus its implementations; contexts without it
   * keep compiling.
   */
  /** The exact diagonal of the operator of a scope (kind default 'hessian'), one value per parameter. */
  hessianDiagonal?(scope: Scope, kind?: OperatorKind): Promise<Float64Array>;
  /** The exact dense block of a scope's operator, row-major dim x dim. */
  denseBlock?(kind: OperatorKind, scope: Scope): Promise<Float64Array>;
  /**
   * Whether hessianDiagonal / denseBlock are exact for a scope: `exact` for the Hessian,
   * `ggn` for the Gauss-Newton part, `why` in words ('exact: ...' / 'not exact: ...').
   */
  curvatureVerdict?(scope: Scope): { exact: boolean; ggn: boolean; why: string };
  /**
   * The operator restricted to the span of a fixed Dense layer input (engine spanOperator): the
   * same nonzero spectrum, `zeros` exact zero eigenvalues left out; null where it does not apply.
   */
  spanOperator?(kind: OperatorKind, scope: Scope): Promise<SpanOperator | null>;
}
