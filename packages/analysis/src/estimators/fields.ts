/**
 * Field rules of a task: what a worker checks once when a task arrives over the network
 * (parseTask). Each estimator declares the rules of its own fields with the same limits as
 * normalizeSpec, so a task the planner could not have made (1e9 probes, a negative index) is
 * INVALID_ARGUMENT before any work.
 */
import { UserError } from '@hessian/linalg';

export type FieldRule = (
  /** a whole number in [min, max] */
  | { int: readonly [number, number] }
  /** a finite number > 0 */
  | { positive: true }
  /** a number in [0, 1] */
  | { fraction: true }
  /** one of these strings */
  | { oneOf: readonly string[] }
  /** a list of non-empty strings */
  | { names: true }
) & {
  /** the field may be absent (a task that does not use it leaves it out) */
  readonly optional?: true;
};

export type FieldRules = Readonly<Record<string, FieldRule>>;

function bad(where: string, field: string, message: string): never {
  throw new UserError(`${where}: ${field} ${message}`, 'INVALID_ARGUMENT');
}

/** Checks `o[field]` for every rule, and that `o` has no field outside `rules` and `also`. */
export function checkFields(where: string, o: Record<string, unknown>, rules: FieldRules, also: readonly string[] = []): void {
  for (const k of Object.keys(o)) if (!(k in rules) && !also.includes(k)) bad(where, `field "${k}"`, 'is not part of this task');
  for (const [field, rule] of Object.entries(rules)) {
    const v = o[field];
    if (v === undefined && rule.optional) continue;
    if ('int' in rule) {
      const [min, max] = rule.int;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(where, field, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    } else if ('positive' in rule) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(where, field, `must be a positive number, got ${JSON.stringify(v)}`);
    } else if ('fraction' in rule) {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) bad(where, field, `must be a number from 0 to 1, got ${JSON.stringify(v)}`);
    } else if ('oneOf' in rule) {
      if (typeof v !== 'string' || !rule.oneOf.includes(v)) bad(where, field, `must be one of ${rule.oneOf.join(', ')}, got ${JSON.stringify(v)}`);
    } else if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x === '')) {
      bad(where, field, `must be a non-empty list of names, got ${JSON.stringify(v)}`);
    }
  }
}
