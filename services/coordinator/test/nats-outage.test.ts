/**
 * A NATS outage is not a worker outage (issue 16, item 10): with nats-server killed mid-job
 * for longer than the heartbeat timeout, the coordinator probes the silent worker on gRPC,
 * finds it answering and keeps its running task; after nats-server restarts (same store), the
 * job completes with every task run once, nothing cancelled or re-dispatched.
 */
import type { PartialSpec } from '@hessian/analysis';
import { specToProto } from '@hessian/wire';
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster } from './harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// 2 probe tasks of 100 probes per scope, 6 in all (about 0.5 s each on an idle core here).
const SPEC: PartialSpec = { model: 'zoo:tiny-mlp', data: 'synthetic:512', topK: null, trace: { probes: 200, chunk: 100, method: 'hutchinson' }, exactMax: 0, density: null, similarity: false, seed: 3 };

describe('NATS outage mid-job', { timeout: 120_000 }, () => {
  let c: Cluster | null = null;
  after(async () => {
    await c?.stop();
  });

  test('heartbeats stop but gRPC answers: the worker keeps its task, the job completes without re-dispatch', async () => {
    c = await Cluster.start({ workers: 1, coordinatorEnv: { HESSIAN_HEARTBEAT_TIMEOUT_S: '1' }, workerEnv: { HESSIAN_HEARTBEAT_S: '0.25' } });
    const cl = c;
    const job = await cl.submit({ spec: specToProto(SPEC) });
    const w = cl.workers[0];
    while (!/^hessian_worker_running_tasks 1$/m.test(await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text())) await sleep(20);
    await cl.nats.stop('SIGKILL');
    // Silent for more than the timeout: the coordinator probes and keeps the worker.
    await cl.coordinator.waitFor((l) => l.msg === 'worker heartbeats missing, but it answers on gRPC: its tasks keep running', 20000);
    await sleep(1500);
    await cl.nats.start();
    let state = '';
    for (const until = Date.now() + 90000; Date.now() < until; await sleep(200)) {
      state = String((await cl.getJob(job.id)).state);
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(state)) break;
    }
    const done = await cl.getJob(job.id);
    assert.equal(done.state, 'SUCCEEDED', done.error);
    assert.equal(done.progress?.tasksTotal, 6);
    assert.equal(done.progress?.tasksDone, 6);
    assert.ok(!cl.coordinator.logs.some((l) => l.msg === 'worker lost'), 'the worker was declared lost');
    assert.ok(!cl.coordinator.logs.some((l) => l.msg === 'task failed'), 'a task failed');
    assert.ok(!w.logs.some((l) => l.msg === 'task stopped'), 'a task was stopped on the worker');
    assert.equal(w.logs.filter((l) => l.msg === 'task done' && l['jobId'] === job.id).length, 6, 'each task ran once');
  });
});
