/**
 * Streaming uploads against a real nats-server: a header with every file's size streams the
 * bundle into the object store (read back byte for byte, digest = modelDigest of the files,
 * same as an upload without sizes); HESSIAN_UPLOAD_BYTES_IN_FLIGHT refuses an upload while
 * others hold the bytes (RESOURCE_EXHAUSTED naming it) and admits it once they end; a
 * cancelled, short, long or misordered upload is refused and leaves no object and no chunk
 * in the stream (nothing half-stored).
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BUCKETS, encodeModelBundle, modelDigest, sleep, type ModelFile } from '@hessian/wire';
import { connect, type NatsConnection } from 'nats';
import { Cluster } from './harness.js';

/** A tfjs model.json naming two weight files, and their bytes (not a loadable model: the upload checks names, not weights). */
function model(weightBytes: number, seed: number): ModelFile[] {
  const w = (n: number, s: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + s * 7) & 255));
  const json = { modelTopology: { class_name: 'Sequential' }, weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: [] }] };
  return [
    { path: 'model.json', data: Buffer.from(JSON.stringify(json)) },
    { path: 'group1-shard1of2.bin', data: w(weightBytes, seed) },
    { path: 'group1-shard2of2.bin', data: w(weightBytes >> 1, seed + 1) },
  ];
}

const sorted = (files: ModelFile[]) => [...files].sort((a, b) => (a.path < b.path ? -1 : 1));

type Reply = { digest: string; bytes: number };
interface Started {
  call: grpc.ClientWritableStream<object>;
  reply: Promise<Reply>;
  /** writes a chunk; resolves when the stream accepts more */
  send: (msg: object) => Promise<void>;
}

describe('streaming uploads', () => {
  let c: Cluster;
  let nc: NatsConnection;
  const LIMIT = 300_000;
  before(async () => {
    c = await Cluster.start({ workers: 0, coordinatorEnv: { HESSIAN_UPLOAD_BYTES_IN_FLIGHT: String(LIMIT), HESSIAN_MAX_UPLOAD_BYTES: '1000000' } });
    nc = await connect({ servers: c.nats.url });
  });
  after(async () => {
    await nc?.close();
    await c?.stop();
  });

  const start = (): Started => {
    let call!: grpc.ClientWritableStream<object>;
    const reply = new Promise<Reply>((resolve, reject) => {
      call = c.client.UploadModel((e, r) => (e ? reject(e) : resolve({ digest: r!.digest, bytes: Number(r!.bytes) })));
    });
    reply.catch(() => undefined);
    call.on('error', () => undefined);
    const send = (msg: object) => new Promise<void>((ok) => (call.write(msg) ? ok() : call.once('drain', ok)));
    return { call, reply, send };
  };

  /** Sends files in bundle order, with sizes in the header, in chunks of `chunk` bytes. */
  const upload = async (files: ModelFile[], opts: { sizes?: boolean; chunk?: number; name?: string } = {}): Promise<Reply> => {
    const s = start();
    const list = sorted(files);
    await s.send({ header: { name: opts.name ?? 'm', files: opts.sizes === false ? [] : list.map((f) => ({ path: f.path, size: f.data.length })) } });
    const chunk = opts.chunk ?? 50_000;
    for (const f of list) for (let o = 0; o < Math.max(1, f.data.length); o += chunk) await s.send({ file: { path: f.path, data: f.data.subarray(o, o + chunk) } });
    s.call.end();
    return s.reply;
  };

  /** Objects in the models bucket, and the chunk subjects its stream holds. */
  const stored = async () => {
    const js = nc.jetstream();
    const os = await js.views.os(BUCKETS.models);
    const objects = await os.list();
    const jsm = await nc.jetstreamManager();
    const si = await jsm.streams.info(`OBJ_${BUCKETS.models}`, { subjects_filter: `$O.${BUCKETS.models}.C.>` });
    return { os, names: objects.map((o) => o.name).sort(), chunkSubjects: Object.keys(si.state.subjects ?? {}).length, nuids: objects.map((o) => o.nuid) };
  };

  const refused = async (p: Promise<unknown>, code: grpc.status, re: RegExp) =>
    assert.rejects(p, (e: grpc.ServiceError) => {
      assert.equal(e.code, code, `${grpc.status[e.code]}: ${e.details}`);
      assert.match(e.details, re);
      return true;
    });

  test('a streamed upload stores the canonical bundle under its digest; one without sizes gets the same digest', async () => {
    const files = model(150_000, 1);
    const bundle = encodeModelBundle(files);
    const r = await upload(files);
    assert.equal(r.digest, modelDigest(bundle));
    assert.equal(r.bytes, bundle.length);
    const { os, chunkSubjects, nuids } = await stored();
    const back = await os.getBlob(r.digest);
    assert.ok(back && Buffer.from(back).equals(bundle), 'the object is the bundle, byte for byte');
    assert.equal(chunkSubjects, nuids.length);
    const legacy = await upload(files, { sizes: false });
    assert.deepEqual(legacy, r);
    assert.equal((await stored()).chunkSubjects, nuids.length, 'a second upload of the same model leaves no extra chunks');
  });

  test('HESSIAN_UPLOAD_BYTES_IN_FLIGHT refuses an upload while another holds the bytes, and admits it after', async () => {
    const a = model(120_000, 2); // 180,000 bytes of weights + model.json
    const b = model(120_000, 3);
    const first = start();
    const list = sorted(a);
    await first.send({ header: { name: 'a', files: list.map((f) => ({ path: f.path, size: f.data.length })) } });
    await first.send({ file: { path: list[0].path, data: list[0].data.subarray(0, 1000) } });
    await refused(upload(b), grpc.status.RESOURCE_EXHAUSTED, /limit on concurrent upload bytes of 300000 \(HESSIAN_UPLOAD_BYTES_IN_FLIGHT\)/);
    // An upload without sizes is counted as its bytes arrive: refused once they pass the limit.
    await refused(upload(b, { sizes: false }), grpc.status.RESOURCE_EXHAUSTED, /HESSIAN_UPLOAD_BYTES_IN_FLIGHT/);
    await first.send({ file: { path: list[0].path, data: list[0].data.subarray(1000) } });
    for (const f of list.slice(1)) await first.send({ file: { path: f.path, data: f.data } });
    first.call.end();
    assert.equal((await first.reply).digest, modelDigest(encodeModelBundle(a)));
    assert.equal((await upload(b)).digest, modelDigest(encodeModelBundle(b)));
  });

  test('a cancelled upload leaves no object and no chunk, and gives its bytes back', async () => {
    const before = await stored();
    const files = sorted(model(180_000, 4));
    const s = start();
    await s.send({ header: { name: 'cut', files: files.map((f) => ({ path: f.path, size: f.data.length })) } });
    for (let o = 0; o < 150_000; o += 25_000) await s.send({ file: { path: files[0].path, data: files[0].data.subarray(o, o + 25_000) } });
    s.call.cancel();
    // The whole limit is free again once the coordinator has dropped the cancelled upload.
    const whole = model(99_000, 5);
    for (let i = 0; ; i++) {
      try {
        await upload(whole);
        break;
      } catch (e) {
        if ((e as grpc.ServiceError).code !== grpc.status.RESOURCE_EXHAUSTED || i > 200) throw e;
        await sleep(50);
      }
    }
    const now = await stored();
    assert.deepEqual(now.names, [...before.names, modelDigest(encodeModelBundle(whole))].sort());
    assert.equal(now.chunkSubjects, now.nuids.length, 'only stored objects have chunks');
  });

  test('short, long, unlisted and misordered files are INVALID_ARGUMENT and store nothing', async () => {
    const before = await stored();
    const files = sorted(model(60_000, 6));
    const header = { header: { name: 'bad', files: files.map((f) => ({ path: f.path, size: f.data.length })) } };
    const cases: [string, object[], RegExp][] = [
      ['short', [header, ...files.map((f, i) => ({ file: { path: f.path, data: i === 0 ? f.data.subarray(1) : f.data } }))], /has 59999 bytes but the header declared 60000/],
      ['long', [header, ...files.map((f, i) => ({ file: { path: f.path, data: i === 0 ? Buffer.concat([f.data, Buffer.alloc(1)]) : f.data } }))], /longer than the 60000 bytes the header declared/],
      ['unlisted', [header, { file: { path: 'extra.bin', data: Buffer.alloc(10) } }], /not listed in the header/],
      ['misordered', [header, ...[...files].reverse().map((f) => ({ file: { path: f.path, data: f.data } }))], /sorted by path/],
      ['unsafe', [{ header: { name: 'x', files: [{ path: '../model.json', size: 2 }] } }], /relative path without/],
    ];
    for (const [what, msgs, re] of cases) {
      const s = start();
      for (const m of msgs) await s.send(m);
      s.call.end();
      await refused(s.reply, grpc.status.INVALID_ARGUMENT, re).catch((e: Error) => assert.fail(`${what}: ${e.message}`));
    }
    const now = await stored();
    assert.deepEqual(now.names, before.names);
    assert.equal(now.chunkSubjects, now.nuids.length);
  });
});
