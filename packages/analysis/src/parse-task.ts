/**
 * parseTask: a Task from JSON that crossed the network (RunTask's task_json), parsed and
 * validated once by the worker: the estimator must be registered, the common fields well
 * formed and the estimator's own fields within its declared rules (the spec's limits).
 *
 * Why JSON: a task's fields belong to the estimator that planned it (registry), so a typed
 * proto message would need one message per estimator and a .proto change per new estimator;
 * the rules below give the same guarantee a typed message would, at the one place it is read.
 */
import { UserError } from '@hessian/linalg';
import { checkFields, type FieldRules } from './estimators/fields.js';
import { estimatorOf, type Task } from './estimators/registry.js';

const BASE: FieldRules = {
  id: { names: true },
  scope: { names: true },
  operator: { oneOf: ['hessian', 'gauss-newton', 'residual'] },
  seed: { int: [0, 0xffffffff] },
  cost: { int: [0, Number.MAX_SAFE_INTEGER] },
};

export function parseTask(json: string): Task {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    throw new UserError('task: task_json is not JSON', 'INVALID_ARGUMENT');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new UserError('task: task_json must be a JSON object', 'INVALID_ARGUMENT');
  const rec = o as Record<string, unknown>;
  if (!isValidTask(rec)) throw new UserError('task: not a task', 'INVALID_ARGUMENT');
  return rec;
}

/** Throws a UserError naming the first bad field; true otherwise. */
function isValidTask(rec: Record<string, unknown>): rec is Record<string, unknown> & Task {
  if (typeof rec.kind !== 'string') throw new UserError('task: kind must name an estimator', 'INVALID_ARGUMENT');
  const e = estimatorOf(rec.kind);
  // id and scope are single strings: checked as one-element name lists.
  checkFields('task', { id: [rec.id], scope: [rec.scope], operator: rec.operator, seed: rec.seed, cost: rec.cost }, BASE);
  checkFields(`task ${String(rec.id)}`, rec, e.fields, ['kind', ...Object.keys(BASE)]);
  return true;
}
