/**
 * SubmitAnalysis checks what only the loaded model can tell on a live worker (its Prepare)
 * before acknowledging: an unknown layer is INVALID_ARGUMENT with the embedded run's
 * sentence, and nothing is stored or queued; a model that fails to load or data that does not
 * fit it is refused with the embedded sentence too; a valid spec is accepted, its job adopts
 * the check's Prepare (one engine built, named after the job) and gives the embedded numbers.
 * With no live worker, or when the check outlasts HESSIAN_SUBMIT_CHECK_S, the job is accepted
 * unchecked and fails when it starts, with the same sentence.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { normalizeSpec, runAnalysis, type PartialSpec, type Report } from '@hessian/analysis';
import { isUserError } from '@hessian/linalg';
import { specToProto } from '@hessian/wire';
import { Cluster } from './harness.js';
import { numbers } from './common.js';

const GOOD: PartialSpec = { model: 'zoo:tiny-mlp', data: 'synthetic:32', topK: { k: 1, maxIter: 10 }, trace: { probes: 8, chunk: 4 }, density: null, seed: 3 };
const BAD_LAYER: PartialSpec = { ...GOOD, layers: { select: 'names', names: ['no-such-layer'] } };

/** The sentence the embedded `hessctl analyze` prints for a spec (runAnalysis's UserError). */
async function embeddedSentence(p: PartialSpec): Promise<string> {
  try {
    await runAnalysis(normalizeSpec(p), { backend: 'cpu' });
  } catch (e) {
    if (isUserError(e)) return e.message;
    throw e;
  }
  throw new Error(`the embedded run accepted ${JSON.stringify(p)}`);
}

async function refused(c: Cluster, p: PartialSpec, code: grpc.status, details: string | RegExp, scope: 'batch' | 'dataset' = 'batch'): Promise<void> {
  const t0 = performance.now();
  await assert.rejects(c.submit({ spec: specToProto(p, scope), clientRequestId: `bad-${Math.random()}` }), (e: grpc.ServiceError) => {
    assert.equal(e.code, code, `code ${grpc.status[e.code]} (${e.details}), want ${grpc.status[code]}`);
    if (typeof details === 'string') assert.equal(e.details, details);
    else assert.match(e.details, details);
    return true;
  });
  assert.ok(performance.now() - t0 < 10_000, 'answered within the client deadline');
}

async function listed(c: Cluster): Promise<{ id: string; state: string; error: string }[]> {
  return (await c.call<{ limit: number }, { jobs: { id: string; state: string; error: string }[] }>('ListJobs', { limit: 1000 })).jobs;
}

async function metric(port: number, re: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

async function finalEvent(c: Cluster, id: string) {
  const events = await c.watch(id);
  return events[events.length - 1];
}

describe('submit-time spec check on a live worker', () => {
  let c: Cluster;
  let layerSentence: string;
  before(async () => {
    layerSentence = await embeddedSentence(BAD_LAYER);
    c = await Cluster.start({ workers: 1 });
  });
  after(async () => {
    await c?.stop();
  });

  test('unknown layer: INVALID_ARGUMENT with the embedded sentence naming the valid layers; nothing stored or queued', async () => {
    assert.match(layerSentence, /unknown layer "no-such-layer"; layers with parameters are dense1, dense2$/);
    await refused(c, BAD_LAYER, grpc.status.INVALID_ARGUMENT, layerSentence);
    await refused(c, BAD_LAYER, grpc.status.INVALID_ARGUMENT, layerSentence, 'dataset');
    await refused(c, { ...GOOD, layers: { select: 'regex', pattern: '^conv' } }, grpc.status.INVALID_ARGUMENT, await embeddedSentence({ ...GOOD, layers: { select: 'regex', pattern: '^conv' } }));
    assert.deepEqual(await listed(c), [], 'ListJobs shows no refused job');
    assert.ok(!c.coordinator.logs.some((l) => l.msg === 'job queued'), 'no job queued');
    assert.equal(await metric(c.coordinator.metricsPort, /^hessian_jobs_submitted_total\{outcome="invalid"\} (\d+)$/m), 3);
    assert.equal(await metric(c.coordinator.metricsPort, /^hessian_submit_checks_total\{result="refused"\} (\d+)$/m), 3);
  });

  test('20 concurrent identical bad submissions: all refused, one Prepare sent to the worker', async () => {
    const spec = { ...BAD_LAYER, seed: 11 }; // a new engine key on the worker
    const prepares = () => metric(c.workers[0].metricsPort, /^hessian_worker_prepares_total\{cache="miss"\} (\d+)$/m);
    const hits = () => metric(c.workers[0].metricsPort, /^hessian_worker_prepares_total\{cache="hit"\} (\d+)$/m);
    const [m0, h0] = [await prepares(), await hits()];
    const out = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => c.submit({ spec: specToProto(spec), clientRequestId: `conc-${i}` })));
    for (const o of out) {
      assert.equal(o.status, 'rejected');
      assert.equal((o as PromiseRejectedResult).reason.code, grpc.status.INVALID_ARGUMENT);
    }
    assert.equal((await prepares()) + (await hits()) - m0 - h0, 1, 'the coordinator shares one in-flight check between identical specs');
    assert.deepEqual(await listed(c), []);
  });

  test('a model path that fails to load, data that does not fit the model: the embedded sentence, not queued', async () => {
    for (const p of [
      { ...GOOD, model: '/usr/share/datasets/fashion-mnist/no-such-model/model.json' },
      { ...GOOD, data: 'fashion-mnist:test[0:32]' },
    ]) {
      const sentence = await embeddedSentence(p);
      await assert.rejects(c.submit({ spec: specToProto(p) }), (e: grpc.ServiceError) => {
        assert.ok([grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND].includes(e.code), `${grpc.status[e.code]}: ${e.details}`);
        assert.equal(e.details, sentence);
        return true;
      });
    }
    assert.deepEqual(await listed(c), []);
  });

  test('valid spec: accepted, the job adopts the check Prepare (one engine, named after the job) and equals the embedded run', async () => {
    const spec: PartialSpec = { ...GOOD, layers: { select: 'names', names: ['dense2'] }, seed: 21 };
    const embedded: Report = await runAnalysis(normalizeSpec(spec), { backend: 'cpu' });
    const job = await c.submit({ spec: specToProto(spec) });
    assert.equal(job.state, 'QUEUED');
    const last = await finalEvent(c, job.id);
    assert.equal(last.type, 'succeeded', last.message);
    const report = JSON.parse((await c.getJob(job.id, true)).reportJson) as Report;
    assert.deepEqual(numbers(report), numbers(embedded));
    const built = c.workers[0].logs.filter((l) => l.msg === 'engine prepared' && l['jobId'] === job.id);
    assert.equal(built.length, 1, 'the engine was built by the submit-time Prepare, which carried the job id');
    const key = built[0]['key'];
    assert.equal(c.workers[0].logs.filter((l) => l.msg === 'engine prepared' && l['key'] === key).length, 1, 'and not built again when the job started');
    assert.deepEqual(
      (await listed(c)).map((j) => j.id),
      [job.id],
    );
  });
});

describe('submit with no live worker, or a check past HESSIAN_SUBMIT_CHECK_S', () => {
  let c: Cluster;
  let layerSentence: string;
  before(async () => {
    layerSentence = await embeddedSentence(BAD_LAYER);
    c = await Cluster.start({ workers: 0, coordinatorEnv: { HESSIAN_SUBMIT_CHECK_S: '0.001' } });
  });
  after(async () => {
    await c?.stop();
  });

  test('no worker: an unknown layer is accepted (the queue waits for workers) and fails when the job starts, with the same sentence', async () => {
    const job = await c.submit({ spec: specToProto(BAD_LAYER) });
    assert.equal(job.state, 'QUEUED');
    assert.ok(c.coordinator.logs.some((l) => l.msg?.startsWith('no live worker: spec accepted unchecked')));
    await c.addWorker();
    const last = await finalEvent(c, job.id);
    assert.equal(last.type, 'failed');
    assert.equal(last.message, layerSentence);
    assert.equal((await c.getJob(job.id)).error, layerSentence);
  });

  test('a check past HESSIAN_SUBMIT_CHECK_S: accepted unchecked; a bad spec fails at start, a good one succeeds', async () => {
    await c.waitForWorkers(1);
    const bad = await c.submit({ spec: specToProto({ ...BAD_LAYER, seed: 31 }) });
    const good = await c.submit({ spec: specToProto({ ...GOOD, seed: 32 }) });
    assert.equal(bad.state, 'QUEUED');
    assert.equal(good.state, 'QUEUED');
    assert.ok(c.coordinator.logs.some((l) => l.msg?.startsWith('spec check still preparing: accepted unchecked')));
    const [lb, lg] = [await finalEvent(c, bad.id), await finalEvent(c, good.id)];
    assert.equal(lb.type, 'failed');
    assert.equal(lb.message, layerSentence);
    assert.equal(lg.type, 'succeeded', lg.message);
  });
});

describe('budgets at submit (issues #13, #16): refused with one sentence, the worker unharmed', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.start({ workers: 1, workerEnv: { HESSIAN_WORKER_MEMORY: '600M' } });
  });
  after(async () => {
    await c?.stop();
  });

  test('too many examples for the worker budget, 1e7 probes, --density-steps 100000, --top-k above --eig-max-iter', async () => {
    await refused(c, { ...GOOD, data: 'synthetic:10000000' }, grpc.status.INVALID_ARGUMENT, /^memory: 10000000 examples of 75 parameters need about .* more than its budget of 600.0 MB \(HESSIAN_WORKER_MEMORY=600M\); use fewer examples in --data, or raise HESSIAN_WORKER_MEMORY$/);
    await refused(c, { ...GOOD, exactMax: 0, trace: { probes: 1e7, chunk: 10, method: 'hutchinson' } }, grpc.status.INVALID_ARGUMENT, /more than 100000 tasks \(the per-job limit HESSIAN_MAX_TASKS\)/);
    await refused(c, { ...GOOD, density: { steps: 100000 } }, grpc.status.INVALID_ARGUMENT, /^density-steps: must be at most 1000/);
    await refused(c, { ...GOOD, topK: { k: 500, maxIter: 100 } }, grpc.status.INVALID_ARGUMENT, /^top-k: 500 is more than --eig-max-iter 100/);
    assert.deepEqual(await listed(c), []);
    // The worker reported its budget and is still there: a valid job runs.
    const job = await c.submit({ spec: specToProto({ ...GOOD, seed: 31 }) });
    const last = await finalEvent(c, job.id);
    assert.equal(last.type, 'succeeded', last.message);
  });
});
