/**
 * Exact curvature from the extended backward pass (factor-pass.ts), per scope: the
 * diagonal of the Hessian (or Gauss-Newton) operator and dense layer blocks, with the
 * verdict that says whether the Hessian's are exact for that scope. The diagonal of every
 * parameter comes from one pass and is cached per engine (recomputed after new weights).
 */
import { UserError } from '@hessian/linalg';
import type * as tf from '@tensorflow/tfjs-core';
import { factorBlock, factorDiagonal, factorVerdicts, type BlockVerdict, type PassCheck } from './factor-pass.js';
import type { HessianEngine, OperatorKind, Scope } from './hessian.js';

export interface ScopeVerdict {
  /** the pass gives the Hessian's diagonal (and layer blocks) */
  exact: boolean;
  /** the pass gives the Gauss-Newton diagonal (and layer blocks) */
  ggn: boolean;
  /** 'exact: ...' or 'not exact: ...' (the first block that is not, for a full scope) */
  why: string;
}

export class ExactCurvature {
  private verdicts: BlockVerdict[] | null = null;
  private diag: { values: Float64Array; from: tf.Tensor[]; passes: number } | null = null;
  /** backward passes taken so far (C per chunk and pass) */
  passes = 0;

  constructor(private readonly engine: HessianEngine) {}

  private blockVerdicts(): BlockVerdict[] {
    if (!this.verdicts) {
      try {
        this.verdicts = factorVerdicts(this.engine);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        this.verdicts = this.engine.model.groups('layer').map((g) => ({ group: g.name, exact: false, ggn: false, why: `not exact: ${e.message}` }));
      }
    }
    return this.verdicts;
  }

  /** Whether the pass gives the Hessian's diagonal and blocks exactly for this scope. */
  verdict(scope: Scope): ScopeVerdict {
    const all = this.blockVerdicts();
    const blocks = scope.kind === 'full' ? all : all.filter((v) => v.group === scope.group);
    if (blocks.length === 0) throw new UserError(`Layer '${scope.kind === 'group' ? scope.group : ''}' has no parameters in model '${this.engine.model.name}'.`);
    const ggn = blocks.every((v) => v.ggn);
    const bad = blocks.find((v) => !v.exact);
    if (bad) return { exact: false, ggn, why: scope.kind === 'full' ? `${bad.why} (block ${bad.group})` : bad.why };
    return { exact: true, ggn, why: scope.kind === 'full' ? 'exact: every layer block is exact, and the diagonal of H is the union of the blocks\u2019 diagonals' : blocks[0].why };
  }

  private check(kind: OperatorKind, scope: Scope, what: string): void {
    if (kind === 'gauss-newton') {
      const v = this.verdict(scope);
      if (!v.ggn) throw new UserError(`The ${what} by backpropagation is not available for this scope (${v.why}).`);
      return;
    }
    if (kind !== 'hessian') throw new UserError(`The ${what} by backpropagation covers the 'hessian' and 'gauss-newton' operators, not '${kind}'.`);
    const v = this.verdict(scope);
    if (!v.exact) throw new UserError(`The Hessian ${what} by backpropagation is ${v.why}.`);
  }

  /** The diagonal of the scope's operator, one value per parameter of the scope (tensor order). */
  async diagonal(scope: Scope, kind: OperatorKind = 'hessian', check?: PassCheck): Promise<Float64Array> {
    this.check(kind, scope, 'diagonal');
    const params = this.engine.model.paramTensors();
    if (!this.diag || this.diag.from.length !== params.length || this.diag.from.some((t, i) => t !== params[i])) {
      // stopped by `check`: nothing is cached, the next call runs the pass again
      const r = await factorDiagonal(this.engine, check);
      this.diag = { values: r.diagonal, from: params.slice(), passes: r.passes };
      this.passes += r.passes;
    }
    const offs = this.engine.scopeOffsets(scope);
    const out = new Float64Array(offs.reduce((a, o) => a + o.size, 0));
    let k = 0;
    for (const o of offs) {
      out.set(this.diag.values.subarray(o.offset, o.offset + o.size), k);
      k += o.size;
    }
    return out;
  }

  /** The dense block of a layer scope's operator (row-major, float64), from one pass. */
  async block(kind: OperatorKind, scope: Scope, check?: PassCheck): Promise<Float64Array> {
    if (scope.kind !== 'group') throw new UserError('A dense block by backpropagation is built per layer; the full network has cross-layer terms the pass does not form.');
    this.check(kind, scope, 'block');
    const r = await factorBlock(this.engine, scope.group, scope.convention, check);
    this.passes += r.passes;
    return r.block;
  }
}
