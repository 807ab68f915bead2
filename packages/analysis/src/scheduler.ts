/**
 * TaskQueue: the one scheduler of a plan's tasks, used by the embedded runner (run.ts) and by
 * the coordinator for both scopes (worker dispatch and the data-parallel lanes). It owns the
 * queue in plan order, early stopping (a pending task whose estimator says it can no longer
 * change the report is skipped, never run), the results, progress and the ETA. Retries,
 * placement and timeouts stay with the caller (the coordinator), which takes tasks with a
 * filter and puts failed ones back with `requeue`.
 *
 * ETA: learned from the tasks finished by this queue, as wall-clock seconds per unit of
 * planned cost (expected products): elapsed * remaining cost / cost finished here. Skipped
 * tasks and results resumed from storage count as done but teach no rate. Before a task has
 * finished, a calibration (`calibrate`: seconds of one product from the worker's Prepare, and how
 * many products run at once) gives remaining cost x seconds / lanes; without one, null.
 */
import type { Task, TaskResult } from './estimators/registry.js';
import type { Plan } from './plan.js';
import { PlanIndex } from './plan-index.js';
import type { AnalysisSpec } from './spec.js';

export interface Progress {
  tasksDone: number;
  tasksSkipped: number;
  tasksTotal: number;
  hvps: number;
  /** Expected HVPs done (finished, skipped or resumed) / total: the basis of the ETA. */
  costDone: number;
  costTotal: number;
  elapsedSeconds: number;
  /** null until a task has finished here. */
  etaSeconds: number | null;
  /** Set when a task just finished. */
  last?: { id: string; seconds: number };
}

export class TaskQueue {
  /** Results by task id: resumed ones and those finished here. */
  readonly results = new Map<string, TaskResult>();
  readonly index: PlanIndex;
  private pending: Task[] = [];
  private order = new Map<string, number>();
  private skipped = 0;
  private hvps = 0;
  private costDone = 0;
  private costLearned = 0;
  /** Seconds per unit of cost from a calibration, until tasks teach a rate (null: none). */
  private prior: number | null = null;
  private readonly costTotal: number;
  private t0 = performance.now();

  /** `resumed`: results already stored (a restarted coordinator); results of tasks not in the plan are dropped. */
  constructor(
    readonly spec: AnalysisSpec,
    readonly plan: Plan,
    resumed?: ReadonlyMap<string, TaskResult>,
  ) {
    this.index = new PlanIndex(spec, plan);
    this.costTotal = plan.tasks.reduce((s, t) => s + t.cost, 0);
    plan.tasks.forEach((t, i) => {
      this.order.set(t.id, i);
      const r = resumed?.get(t.id);
      if (r) {
        this.results.set(t.id, r);
        this.hvps += r.hvps;
        this.costDone += t.cost;
      } else this.pending.push(t);
    });
  }

  /** The ETA before any task has finished: seconds of one product and the products running at once. */
  calibrate(secondsPerProduct: number, lanes: number): void {
    if (secondsPerProduct > 0 && lanes > 0) this.prior = secondsPerProduct / lanes;
  }

  /** Sets the start of elapsed time and ETA (performance.now() units; default now), e.g. when a resumed job runs again. */
  restartClock(t0 = performance.now()): void {
    this.t0 = t0;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  get done(): number {
    return this.results.size;
  }

  /** True when a pending task can no longer change the report (its estimator's stopping rule). */
  skippable(t: Task): boolean {
    return this.index.skippable(t, this.results);
  }

  /** Drops every pending task that became skippable (counted as skipped and done). */
  purgeSkippable(): void {
    this.pending = this.pending.filter((t) => {
      if (!this.skippable(t)) return true;
      this.skipped++;
      this.costDone += t.cost;
      return false;
    });
  }

  /** The first pending task in plan order that `accept` takes (after skipping), removed from the queue. */
  take(accept: (t: Task) => boolean = () => true): Task | undefined {
    this.purgeSkippable();
    const i = this.pending.findIndex(accept);
    return i < 0 ? undefined : this.pending.splice(i, 1)[0];
  }

  /** Puts a task back at its plan position (a retry or a re-dispatch). */
  requeue(t: Task): void {
    const i = this.order.get(t.id)!;
    let at = this.pending.findIndex((p) => this.order.get(p.id)! > i);
    if (at < 0) at = this.pending.length;
    this.pending.splice(at, 0, t);
  }

  /** Records a finished task's result; returns the progress with `last` set. */
  finish(t: Task, r: TaskResult): Progress {
    this.results.set(t.id, r);
    this.hvps += r.hvps;
    this.costDone += t.cost;
    this.costLearned += t.cost;
    return this.progress({ id: t.id, seconds: r.seconds });
  }

  /** A live partial result after t finished (its estimator's), or null. */
  partial(t: Task): object | null {
    return this.index.partial(t, this.results);
  }

  progress(last?: Progress['last']): Progress {
    const elapsed = (performance.now() - this.t0) / 1000;
    const remaining = Math.max(0, this.costTotal - this.costDone);
    return {
      tasksDone: this.results.size,
      tasksSkipped: this.skipped,
      tasksTotal: this.plan.tasks.length,
      hvps: this.hvps,
      costDone: this.costDone,
      costTotal: this.costTotal,
      elapsedSeconds: elapsed,
      etaSeconds: this.costLearned > 0 ? (elapsed * remaining) / this.costLearned : this.prior !== null ? remaining * this.prior : null,
      ...(last ? { last } : {}),
    };
  }
}
