/**
 * What the estimators that run on a span operator (engine spanOperator: the scope's operator
 * restricted to the span of a fixed Dense input) share: the operator a task runs on, and the top
 * of the whole spectrum from the restricted one's, given the exact zero eigenvalues left out.
 */
import type { SpanOperator } from '@hessian/engine';
import type { LinearOperator } from '@hessian/linalg';
import type { OperatorName } from '../report.js';
import type { RunContext } from './types.js';

/**
 * The operator a task runs on: the scope's restricted to the span of a fixed Dense input where
 * the compute context offers one (its products counted as the task's), else the scope's own;
 * `span` says which.
 */
export async function taskOperator(task: { scope: string; operator: OperatorName }, ctx: RunContext): Promise<{ op: LinearOperator; span: SpanOperator | null }> {
  const span = ctx.compute.spanOperator ? await ctx.compute.spanOperator(task.operator, ctx.scope(task.scope)) : null;
  return { op: span ? ctx.counted(span.op) : ctx.op, span };
}

/**
 * The k largest eigenvalues (descending) of a spectrum that is the restricted operator's plus
 * `zeros` exact zeros, from the restricted operator's largest (descending) and their residuals:
 * zeros (residual 0) take the places of negative values and fill up to k where the restricted
 * operator has fewer dimensions than k.
 */
export function topWithZeros(eigenvalues: number[], residuals: number[], zeros: number, k = eigenvalues.length): { eigenvalues: number[]; residuals: number[] } {
  if (zeros <= 0) return { eigenvalues, residuals };
  const pairs = eigenvalues.map((x, i) => [x, residuals[i]] as [number, number]);
  for (let z = 0; z < Math.min(zeros, k); z++) pairs.push([0, 0]);
  pairs.sort((p, q) => q[0] - p[0]);
  return { eigenvalues: pairs.slice(0, k).map((p) => p[0]), residuals: pairs.slice(0, k).map((p) => p[1]) };
}
