/**
 * Per-job limits a spec is checked against before anything runs (issue #16: a spec must not be
 * able to exhaust the coordinator): the number of tasks one job may plan.
 */
import { UserError } from '@hessian/linalg';

export const DEFAULT_MAX_TASKS = 100000;

/** HESSIAN_MAX_TASKS (a positive whole number), else 100000. */
export function maxTasksPerJob(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['HESSIAN_MAX_TASKS'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_MAX_TASKS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`HESSIAN_MAX_TASKS must be a positive whole number, got '${raw}'; unset it for the default ${DEFAULT_MAX_TASKS}.`, 'FAILED_PRECONDITION');
  return n;
}

/** The refusal when a plan passes the cap (thrown while planning, so no more tasks are built). */
export function tooManyTasks(max: number): UserError {
  return new UserError(
    `plan: this job has more than ${max} tasks (the per-job limit HESSIAN_MAX_TASKS); raise --trace-chunk, lower --trace-probes or --density-runs, analyze fewer --layers, or raise HESSIAN_MAX_TASKS where the job is planned`,
    'INVALID_ARGUMENT',
  );
}
