/** Number formatting and report accessors shared by the table, the Markdown and the figures. */
import type { OperatorName, OperatorReport, Report, ScopeReport } from '@hessian/analysis';

export const MISSING = '\u2014';
export const OPERATORS: readonly OperatorName[] = ['hessian', 'gauss-newton', 'residual'];
export const OPERATOR_TITLE: Record<OperatorName, string> = {
  hessian: 'Hessian H',
  'gauss-newton': 'Gauss-Newton G',
  residual: 'Residual R = H \u2212 G',
};

function finite(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** `sig` significant digits; exponent form outside [1e-3, 1e5); '—' for missing/non-finite. */
export function fmtSig(x: number | null | undefined, sig = 3): string {
  if (!finite(x)) return MISSING;
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(Math.max(0, sig - 1)).replace('e+', 'e');
  if (a >= 10 ** sig) return String(Number(x.toPrecision(sig)));
  return x.toPrecision(sig);
}

/** Whole numbers with thousands separators. */
export function fmtInt(x: number | null | undefined): string {
  if (!finite(x)) return MISSING;
  return Math.round(x).toLocaleString('en-US');
}

export function fmtSeconds(x: number | null | undefined): string {
  if (!finite(x)) return MISSING;
  if (x >= 100) return x.toFixed(0);
  if (x >= 1) return x.toFixed(1);
  return x.toFixed(2);
}

/**
 * "mean ± stderr": the error with 2 significant digits, the mean to the same decimal place
 * (at least 3 and at most 8 significant digits).
 */
export function fmtMeanErr(mean: number | null | undefined, stderr: number | null | undefined): string {
  if (!finite(mean)) return MISSING;
  if (!finite(stderr) || stderr < 0) return `${fmtSig(mean, 3)} \u00b1 ${MISSING}`;
  if (stderr === 0 || mean === 0) return `${fmtSig(mean, 3)} \u00b1 ${fmtSig(stderr, 2)}`;
  const lastDigit = Math.floor(Math.log10(stderr)) - 1;
  const sig = Math.max(2, Math.min(8, Math.floor(Math.log10(Math.abs(mean))) - lastDigit + 1));
  return `${fmtSig(mean, sig)} \u00b1 ${fmtSig(stderr, 2)}`;
}

export function op(scope: ScopeReport, name: OperatorName): OperatorReport | undefined {
  return scope.operators.find((o) => o.operator === name);
}

/** Operators present anywhere in the report, in canonical order. */
export function operatorsIn(report: Report): OperatorName[] {
  return OPERATORS.filter((name) => report.scopes.some((s) => op(s, name) !== undefined));
}

/** Full network first, then layers in report order (stable). */
export function orderedScopes(report: Report): ScopeReport[] {
  const full = report.scopes.filter((s) => s.kind === 'full');
  const layers = report.scopes.filter((s) => s.kind !== 'full');
  return [...full, ...layers];
}

export function maxK(report: Report, name: OperatorName): number {
  let k = 0;
  for (const s of report.scopes) k = Math.max(k, op(s, name)?.top?.values.length ?? 0);
  return k;
}

export function operatorSuffix(name: OperatorName): string {
  return name === 'hessian' ? '' : `-${name}`;
}
