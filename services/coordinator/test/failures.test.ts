/**
 * Failures: kill -9 of a worker in the middle of its tasks (the job completes with identical
 * numbers and the re-dispatch shows in the events); cancel (workers stop the job's tasks
 * within 2 s); kill -9 of the coordinator and a restart (the job resumes from JetStream,
 * finished tasks are not run again, identical numbers).
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { normalizeSpec, runAnalysis, type PartialSpec, type Report } from '@hessian/analysis';
import { specToProto, type JobEvent__Output } from '@hessian/wire';
import { Cluster } from './harness.js';
import { numbers } from './common.js';

// About 170 ms per task on the cpu backend here: long enough to kill a worker in the middle of one.
// Pinned to Hutchinson (no exact diagonal or exact blocks), so the job has 12 probe tasks to kill in.
const SLOW: PartialSpec = { model: 'zoo:tiny-mlp', data: 'synthetic:1024', topK: null, trace: { probes: 40, chunk: 10, method: 'hutchinson' }, exactMax: 0, density: null, similarity: false, seed: 9 };

let embedded: Report | null = null;
async function embeddedSlow(): Promise<Report> {
  embedded ??= await runAnalysis(normalizeSpec(SLOW), { backend: 'cpu' });
  return embedded;
}

describe('failures', () => {
  let c: Cluster | null = null;
  afterEach(async () => {
    await c?.stop();
    c = null;
  });
  after(async () => {
    await c?.stop();
  });

  test('kill -9 of a worker in the middle of its tasks: same numbers, re-dispatch in the events', async () => {
    c = await Cluster.start({ workers: 2 });
    const cl = c;
    const job = await cl.submit({ spec: specToProto(SLOW) });
    let killed = false;
    const events = await cl.watch(job.id, 0, (e: JobEvent__Output) => {
      if (!killed && e.type === 'task-done' && e.worker === 'w1') {
        killed = true;
        // Kill w1 while it runs its next task (its /metrics says when).
        void (async () => {
          while (!/^hessian_worker_running_tasks 1$/m.test(await (await fetch(`http://127.0.0.1:${cl.workers[0].metricsPort}/metrics`)).text())) await new Promise((r) => setTimeout(r, 10));
          await cl.workers[0].kill('SIGKILL');
        })();
      }
    });
    assert.ok(killed);
    const last = events[events.length - 1];
    assert.equal(last.type, 'succeeded', last.message);
    const re = events.filter((e) => e.type === 'task-redispatched');
    assert.ok(re.length >= 1, 'a task-redispatched event');
    assert.match(re[0].message, /from worker w1 to worker w2/);
    const done = await cl.getJob(job.id, true);
    assert.deepEqual(numbers(JSON.parse(done.reportJson) as Report), numbers(await embeddedSlow()));
  });

  test('cancel: workers stop the job within 2 s, the watch ends with cancelled', async () => {
    c = await Cluster.start({ workers: 2 });
    const cl = c;
    // Tasks of 1000 probes, about 6 s each here (200-probe tasks took 1.2 s on a quiet machine and
    // one could finish in the 1.1 s below, leaving that worker nothing to stop): both workers are
    // inside one when the cancel comes.
    const long: PartialSpec = { ...SLOW, trace: { probes: 2000, chunk: 1000, method: 'hutchinson' } };
    const job = await cl.submit({ spec: specToProto(long) });
    const running = async (port: number) => /^hessian_worker_running_tasks 1$/m.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    // Cancel once both workers are inside a task.
    const until = Date.now() + 30000;
    while (!(await running(cl.workers[0].metricsPort)) || !(await running(cl.workers[1].metricsPort))) {
      assert.ok(Date.now() < until, 'both workers running a task');
      await new Promise((r) => setTimeout(r, 50));
    }
    // GetJob's elapsed time moves while tasks run, between progress events (it once stayed at 00:00).
    const a = await cl.getJob(job.id);
    await new Promise((r) => setTimeout(r, 1100));
    const b = await cl.getJob(job.id);
    assert.ok(b.progress!.elapsedSeconds - a.progress!.elapsedSeconds >= 1, `elapsed ${a.progress!.elapsedSeconds} s, then ${b.progress!.elapsedSeconds} s 1.1 s later`);
    const cancelledAt = Date.now();
    await cl.call('CancelJob', { id: job.id });
    const events = await cl.watch(job.id);
    assert.equal(events[events.length - 1].type, 'cancelled');
    for (const w of cl.workers) {
      const l = await w.waitFor((x) => x.msg === 'task stopped' && x['jobId'] === job.id, 3000);
      assert.ok(Number(l['time']) - cancelledAt < 2000, `${w.name} stopped ${Number(l['time']) - cancelledAt} ms after the cancel`);
    }
    // 2 s after the cancel nothing of that job runs anywhere (each worker's /metrics says so).
    await new Promise((r) => setTimeout(r, Math.max(0, cancelledAt + 2000 - Date.now())));
    for (const w of cl.workers) {
      const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
      assert.match(text, /^hessian_worker_running_tasks 0$/m, `${w.name} still runs tasks`);
      assert.ok(!w.logs.some((l) => l.msg === 'task done' && l['jobId'] === job.id && Number(l['time']) > cancelledAt + 2000));
    }
    assert.equal((await cl.getJob(job.id)).state, 'CANCELLED');
  });

  test('kill -9 of the coordinator mid-job, restart: resumes from JetStream without rerunning finished tasks', async () => {
    c = await Cluster.start({ workers: 2 });
    const cl = c;
    const job = await cl.submit({ spec: specToProto(SLOW) });
    const port = cl.coordinator.grpcPort;
    const before = await new Promise<JobEvent__Output[]>((resolve, reject) => {
      const seen: JobEvent__Output[] = [];
      const s = cl.client.WatchJob({ id: job.id });
      s.on('data', (e: JobEvent__Output) => {
        seen.push(e);
        if (seen.filter((x) => x.type === 'task-done').length === 4) {
          void cl.coordinator.kill('SIGKILL').then(() => resolve(seen));
        }
      });
      s.on('error', () => resolve(seen));
      s.on('end', () => reject(new Error('job ended before the kill')));
    });
    const doneBefore = new Set(before.filter((e) => e.type === 'task-done').map((e) => e.taskId));
    await cl.startCoordinator(port);
    const events = await cl.watch(job.id);
    const last = events[events.length - 1];
    assert.equal(last.type, 'succeeded', last.message);
    const resumedAt = events.findIndex((e) => e.type === 'started' && /resumed/.test(e.message));
    assert.ok(resumedAt > 0, 'a resumed start event');
    const rerun = events.slice(resumedAt).filter((e) => e.type === 'task-done' && doneBefore.has(e.taskId));
    assert.deepEqual(rerun, [], 'finished tasks are not run again');
    // Every planned task has a result (a result stored just before the kill may lack its task-done event).
    const report = JSON.parse((await cl.getJob(job.id, true)).reportJson) as Report;
    assert.equal(report.totals.tasks, 12);
    assert.deepEqual(numbers(report), numbers(await embeddedSlow()));
  });
});

describe('nats-server restart', () => {
  let c: Cluster | null = null;
  after(async () => {
    await c?.stop();
  });

  test('nats-server killed and restarted mid-job: services reconnect, the job completes with the same numbers', async () => {
    c = await Cluster.start({ workers: 2 });
    const cl = c;
    const job = await cl.submit({ spec: specToProto(SLOW) });
    // Wait until some tasks are done, then take NATS away for a second.
    await new Promise<void>((resolve, reject) => {
      let n = 0;
      const s = cl.client.WatchJob({ id: job.id });
      s.on('data', (e: JobEvent__Output) => {
        if (e.type === 'task-done' && ++n === 3) {
          s.cancel();
          resolve();
        }
      });
      s.on('error', () => undefined);
      s.on('end', () => reject(new Error('job ended before the restart')));
    });
    await cl.nats.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    await cl.nats.start();
    // The job finishes; poll GetJob (a watch opened during the outage could be cut).
    const until = Date.now() + 60000;
    let state = '';
    while (Date.now() < until) {
      state = (await cl.getJob(job.id)).state;
      if (state === 'SUCCEEDED' || state === 'FAILED' || state === 'CANCELLED') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const done = await cl.getJob(job.id, true);
    assert.equal(done.state, 'SUCCEEDED', done.error);
    assert.deepEqual(numbers(JSON.parse(done.reportJson) as Report), numbers(await embeddedSlow()));
    const events = await cl.watch(job.id);
    assert.equal(events[events.length - 1].type, 'succeeded');
    await cl.waitForWorkers(2);
  });
});
