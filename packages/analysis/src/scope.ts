/**
 * Scopes: what one analysis unit covers — the whole network (`full`) or one layer's parameter
 * group — and how a scope name becomes the engine's Scope under a convention.
 */
import type { Convention, Scope } from '@hessian/engine';

/** The scope name of the whole network (a layer may not be called this). */
export const FULL = 'full';

export interface PlannedScope {
  name: string;
  kind: 'full' | 'layer';
  className: string;
  tensors: string[];
  params: number;
  depth: number | null;
}

export function scopeOf(name: string, convention: Convention): Scope {
  return name === FULL ? { kind: 'full' } : { kind: 'group', group: name, convention };
}
