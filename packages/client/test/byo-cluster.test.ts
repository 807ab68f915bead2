/**
 * Bring your own model on a local cluster (`hessctl cluster up`, one worker): PyTorch ONNX
 * exports uploaded by `analyze --server` give PyTorch's numbers for the full network and every
 * layer; a Keras .keras file uploaded with upload-model gives the numbers of its tfjs model.json
 * twin, embedded; truncated .keras / .h5 files are refused
 * before upload by hessctl and at upload by the coordinator, in one sentence naming the file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, loadProtos } from '@hessian/wire';
import { COORDINATOR_MAIN, findNatsServer, WORKER_MAIN, type ClusterRecord } from '../src/commands/cluster.js';
import { agreesWithTorch, hessctl, KERAS, MODELS, numbers, ONNX, QUICK, torch, type ReportJson } from './byo-helpers.js';

const missing = [
  !existsSync(COORDINATOR_MAIN) && `${COORDINATOR_MAIN} (build the coordinator)`,
  !existsSync(WORKER_MAIN) && `${WORKER_MAIN} (build the worker)`,
  !findNatsServer() && 'nats-server (apt-get install nats-server)',
].filter(Boolean);
const skip = missing.length ? `the cluster part needs ${missing.join(', ')}` : false;
if (skip) process.stderr.write(`# SKIP: ${skip}\n`);

describe('bring your own model on a local cluster', { skip }, () => {
  let dir: string;
  let server: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hessctl-byo-'));
    const up = hessctl(['cluster', 'up', '--workers', '1', '--dir', dir, '--port', '0', '--nats-port', '0', '--metrics-port', '0', '--timeout', '60', '--format', 'json']);
    assert.equal(up.code, 0, up.stderr);
    server = (JSON.parse(up.stdout) as ClusterRecord).server;
  });
  after(() => {
    if (dir && existsSync(join(dir, 'cluster.json'))) hessctl(['cluster', 'down', '--dir', dir, '--grace', '2']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const name of MODELS)
    test(`${name}.onnx uploaded by analyze --server: PyTorch's numbers, full network and every layer`, () => {
      const ref = torch(name);
      const r = hessctl(['analyze', '--model', join(ONNX, `${name}.onnx`), '--data', ref.data, ...QUICK, '--server', server]);
      assert.equal(r.code, 0, r.stderr);
      agreesWithTorch(JSON.parse(r.stdout) as ReportJson, ref, `${name} on the cluster`);
    });

  test('a .keras file uploaded with upload-model gives the numbers of its tfjs twin, embedded', () => {
    const up = hessctl(['upload-model', join(KERAS, 'sepcat.keras'), '--server', server, '-q']);
    assert.equal(up.code, 0, up.stderr);
    const digest = up.stdout.trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const data = ['--data', 'fashion-mnist:test[0:4]', ...QUICK];
    const remote = hessctl(['analyze', '--model', digest, ...data, '--server', server]);
    assert.equal(remote.code, 0, remote.stderr);
    const got = JSON.parse(remote.stdout) as ReportJson & { model: { params: number } };
    assert.deepEqual(got.scopes.map((s) => s.name), ['full', 'stem', 'dw', 'dw_bn', 'pw', 'sep', 'out']);
    assert.equal(got.parameters, undefined, 'Keras tensors keep their own names: no parameter map');
    // the tfjs twin, embedded (.h5 = .keras = twin product by product: engine/test/keras-files.test.ts)
    const twin = hessctl(['analyze', '--model', join(KERAS, 'sepcat', 'model.json'), ...data]);
    assert.equal(twin.code, 0, twin.stderr);
    assert.deepEqual(numbers((JSON.parse(twin.stdout) as ReportJson).scopes), numbers(got.scopes));
  });

  test('a truncated .keras or .h5 is refused before upload by hessctl and at upload by the coordinator, naming the file', async () => {
    for (const ext of ['keras', 'h5']) {
      const bytes = readFileSync(join(KERAS, `sepcat.${ext}`));
      const cut = join(dir, `cut.${ext}`);
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
      const r = hessctl(['upload-model', cut, '--server', server]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`'${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'.*truncated or corrupt`));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      // straight to the coordinator, as another client could send it
      const { coordinator } = loadProtos();
      const client = new coordinator.hessian.v1.Coordinator(server, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      const err = await new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.UploadModel((e: grpc.ServiceError | null) => resolve(e));
        call.write({ header: { name: `cut.${ext}` } });
        call.write({ file: { path: `model.${ext}`, data: bytes.subarray(0, Math.floor(bytes.length * 0.7)) } });
        call.end();
      });
      client.close();
      assert.ok(err, 'refused');
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      assert.match(err.details, new RegExp(`^upload 'cut\\.${ext}'.*truncated or corrupt`));
    }
  });
});
