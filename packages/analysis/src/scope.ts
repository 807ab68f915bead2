/**
 * Scopes: what one analysis unit covers — the whole network (`full`) or one layer's parameter
 * group — and how a scope name becomes the engine's Scope under a convention.
 */
import type { Convention, Scope } from '@hessian/engine';

/** The scope name of the whole network (a layer may not be called this). */
export const FULL = 'full';

/** A scope as planned, and as the report describes it (ScopeReport adds its operators). */
export interface PlannedScope {
  /** 'full' for the whole network, else the layer name. */
  name: string;
  kind: 'full' | 'layer';
  className: string;
  /** Parameter tensors in this scope, e.g. ["conv1/kernel", "conv1/bias"]. */
  tensors: string[];
  params: number;
  /** Position of the layer among the analyzed parameterized layers, 0..1 (full: null). */
  depth: number | null;
  /**
   * What the exact rule's cost model needs (exact-rule.ts), set by plan, never reported:
   * parameters a product of this scope passes through (the layer and every layer after it in
   * model order: the cached front skips the ones before), and the model's outputs (the factor
   * pass's C, taken as the last layer's last tensor size).
   */
  cost?: { productParams: number; outputs: number };
}

export function scopeOf(name: string, convention: Convention): Scope {
  return name === FULL ? { kind: 'full' } : { kind: 'group', group: name, convention };
}
