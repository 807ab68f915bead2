/**
 * The data-parallel scope with a fixed shard count (`--shards`): the same examples split the
 * same way and the shard products summed in shard order give the same numbers bit for bit on
 * 1, 2 and 3 workers, and when a worker holding a shard is killed in the middle of the job
 * (its shard moves to another worker and the product is re-sent). Real nats-server,
 * coordinator and worker processes, a narrow ResNet-18 (width 1/32, 8x8x3 inputs).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { normalizeSpec, runAnalysis, type PartialSpec, type Report } from '@hessian/analysis';
import { specToProto } from '@hessian/wire';
import * as grpc from '@grpc/grpc-js';
import { Cluster } from './harness.js';
import { compareClose, numbers } from './common.js';

const SPEC: PartialSpec = {
  model: 'zoo:resnet18?width=0.03125&input=8x8x3&classes=4',
  data: 'synthetic:24',
  layers: { select: 'names', names: ['fc'] },
  topK: { k: 1, maxIter: 4 },
  trace: { method: 'hutchinson', probes: 2, chunk: 1 },
  density: null,
  exactMax: 0,
  seed: 7,
};
const SHARDS = 3;

type DatasetReport = Report & { scope: string; shards: number[] };

async function runJob(c: Cluster, onEvent?: (type: string) => void) {
  const job = await c.submit({ spec: specToProto(normalizeSpec(SPEC), 'dataset', SHARDS) });
  const events = await c.watch(job.id, 0, (e) => onEvent?.(e.type));
  const last = events[events.length - 1];
  assert.equal(last.type, 'succeeded', `job ended with ${last.type}: ${last.message}`);
  const done = await c.getJob(job.id, true);
  return { events, report: JSON.parse(done.reportJson) as DatasetReport };
}

describe('data-parallel scope with --shards: identical numbers for any worker count', () => {
  let c: Cluster;
  let first: DatasetReport | null = null;
  before(async () => {
    c = await Cluster.start({ workers: 1 });
  });
  after(async () => {
    await c?.stop();
  });

  for (const n of [1, 2, 3]) {
    test(`${n} worker(s), ${SHARDS} shards: every number identical to the 1-worker run`, async () => {
      while (c.workers.length < n) await c.addWorker();
      await c.waitForWorkers(n);
      const { report, events } = await runJob(c);
      assert.equal(report.scope, 'dataset');
      assert.deepEqual(report.shards, [8, 8, 8]);
      // The task-done event names the worker of each shard, in shard order: contiguous runs over the n workers.
      const placement = events.find((e) => e.type === 'task-done')!.worker.split(',');
      assert.equal(placement.length, SHARDS);
      assert.equal(new Set(placement).size, n);
      if (!first) {
        first = report;
        // The sum over shards is the Hessian of the whole data: close to the embedded run (float32 summation order).
        const want = await runAnalysis(normalizeSpec(SPEC), { backend: 'cpu' });
        const strip = (r: Report) => numbers(r).map((s) => ({ ...s, operators: s.operators.map((o) => ({ ...o, top: o.top && { ...o.top, residuals: [] } })) }));
        compareClose(strip(report), strip(want), 1e-4);
      } else assert.deepEqual(numbers(report), numbers(first));
      assert.equal(report.lossValue, first.lossValue);
    });
  }

  test('a worker holding a shard killed in the middle of the job: the shard moves, the job finishes, the numbers do not change', async () => {
    assert.ok(first, 'runs after the 1-worker test');
    await c.waitForWorkers(3);
    const victim = c.workers[1];
    let killed = false;
    const { report, events } = await runJob(c, (type) => {
      // After the first task the next one is running: its products are in flight on every shard's stream.
      if (type === 'task-done' && !killed) {
        killed = true;
        void victim.kill('SIGKILL');
      }
    });
    assert.ok(killed && !victim.alive);
    const moved = events.filter((e) => e.type === 'task-redispatched');
    assert.ok(moved.length >= 1, 'a shard was moved');
    assert.match(moved[0].message, /^shard \d of 3 moved from worker \S+ to worker \S+/);
    assert.deepEqual(numbers(report), numbers(first));
    assert.equal(report.lossValue, first.lossValue);
  });

  test('--shards is refused with a sentence for the batch scope, above 256 and above the examples', async () => {
    const refused = async (scope: 'batch' | 'dataset', shards: number, re: RegExp) => {
      await assert.rejects(c.submit({ spec: specToProto(normalizeSpec(SPEC), scope, shards) }), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
        assert.match(e.details, re);
        return true;
      });
    };
    await refused('batch', 2, /^shards: only the dataset scope splits the examples; drop --shards 2 or give --scope dataset$/);
    await refused('dataset', 257, /^shards: at most 256, got 257/);
    await refused('dataset', 25, /^shards: 25 shards of 24 examples would leave some empty; give --shards 24 or fewer$/);
  });
});
