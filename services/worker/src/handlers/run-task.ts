/**
 * RunTask: one planned task in the engine's compute thread, streaming progress (fraction of
 * the task's expected products) and then the result. The task arrives as JSON and is parsed
 * and validated once here (parseTask: known estimator, every field within the spec's limits),
 * so a forged task is INVALID_ARGUMENT before any work; a task beyond the worker's capacity is
 * RESOURCE_EXHAUSTED. A cancel (NATS, the caller, a drain)
 * ends the call at once; the compute thread stops the task before its next product.
 */
import * as grpc from '@grpc/grpc-js';
import { parseTask } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';
import type { WorkerHandlers } from '@hessian/wire';
import { TaskStopped } from '../compute.js';
import { callError, Cancelled, conventionOf, type WorkerRuntime } from '../runtime.js';

export function runTaskHandler(rt: WorkerRuntime): WorkerHandlers['RunTask'] {
  return (call) => {
    const { jobId, key } = call.request;
    const ac = new AbortController();
    // The compute thread reads this flag before each product: visible there at once, no event-loop turn needed.
    const flag = new Int32Array(new SharedArrayBuffer(4));
    let taskId = '';
    let ended = false;
    // Ends the call with an error, once: a cancel ends it at once (this thread is never busy).
    const stop = (e: unknown) => {
      if (ended) return;
      ended = true;
      rt.counters.tasks.inc({ result: e instanceof Cancelled ? 'cancelled' : 'error' });
      rt.log.info({ jobId, taskId, err: e instanceof Error ? e.message : String(e) }, 'task stopped');
      call.emit('error', callError(e));
    };
    ac.signal.addEventListener(
      'abort',
      () => {
        Atomics.store(flag, 0, 1);
        stop(ac.signal.reason);
      },
      { once: true },
    );
    call.on('cancelled', () => ac.abort(new Cancelled(grpc.status.CANCELLED, 'call cancelled by the caller')));
    void (async () => {
      if (rt.draining) throw new Cancelled(grpc.status.UNAVAILABLE, `worker ${rt.id} is draining`);
      if (rt.cancelledJobs.has(jobId)) throw new Cancelled(grpc.status.CANCELLED, `job ${jobId} was cancelled`);
      const task = parseTask(call.request.taskJson);
      const convention = conventionOf(call.request.convention);
      taskId = task.id;
      const entry = rt.engines.entry(key);
      // The coordinator never sends more than the heartbeat's capacity; anything beyond it is refused, not queued.
      // Train steps (TrainGradient, job "train:<run>") do not count: the trainer sizes its own calls by shards,
      // and counting them would starve analyses on a worker a trainer shares (a retry rarely hits a gap).
      const tasks = [...rt.running.values()].filter((r) => !r.jobId.startsWith('train:')).length;
      if (tasks >= rt.capacity)
        throw new UserError(`worker ${rt.id} is running ${tasks} tasks and its capacity (HESSIAN_WORKER_CAPACITY) is ${rt.capacity}; send the task to another worker or when one ends`, 'RESOURCE_EXHAUSTED');
      // Counted as running until the compute thread has really stopped (or finished) the task.
      rt.running.set(ac, { jobId, taskId });
      const t0 = performance.now();
      const log = rt.log.child({ jobId, taskId });
      log.debug('task started');
      let counted = 0;
      const count = (done: number) => {
        if (done > counted) rt.counters.hvps.inc({}, done - counted);
        counted = Math.max(counted, done);
      };
      try {
        await rt.engines.using(entry, async () => {
          const { result, done } = await entry.thread.runTask(task, convention, flag, (d) => {
            count(d);
            if (!ac.signal.aborted) call.write({ progress: Math.min(1, d / Math.max(1, task.cost)) });
          });
          count(done);
          if (ac.signal.aborted) throw ac.signal.reason;
          ended = true;
          call.write({ resultJson: JSON.stringify(result) });
          call.end();
          rt.counters.tasks.inc({ result: 'ok' });
          rt.counters.taskSeconds.inc({}, (performance.now() - t0) / 1000);
          log.info({ seconds: result.seconds, hvps: result.hvps }, 'task done');
        });
      } catch (e) {
        if (e instanceof TaskStopped) count(e.done);
        throw e;
      } finally {
        rt.running.delete(ac);
      }
    })().catch(stop);
  };
}
