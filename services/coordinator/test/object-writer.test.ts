/**
 * ObjectWriter against a real nats-server: what it writes is what nats.js's ObjectStore reads
 * back (byte for byte, digest checked by nats.js); with the server paused (SIGSTOP) longer than
 * a chunk's ack timeout, only the chunks in flight are sent again, JetStream drops the copies
 * that had arrived (message ids), and the object is whole and in order; abort leaves no chunk.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { ChunkSlots, ObjectWriter } from '../src/object-writer.js';
import { Nats } from './harness.js';

const BUCKET = 'writer_test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 17 + (i >> 9)) & 255;
  return b;
}

describe('ObjectWriter', () => {
  let nats: Nats;
  let nc: NatsConnection;
  before(async () => {
    nats = new Nats();
    await nats.start();
    nc = await connect({ servers: nats.url });
    await nc.jetstream().views.os(BUCKET);
  });
  after(async () => {
    await nc?.close();
    await nats?.destroy();
  });

  const chunkSubjects = async () => {
    const jsm = await nc.jetstreamManager();
    const si = await jsm.streams.info(`OBJ_${BUCKET}`, { subjects_filter: `$O.${BUCKET}.C.>` });
    return si.state.subjects ?? {};
  };

  test('an ack timeout (server paused) re-sends only the chunks in flight; the object reads back whole', async () => {
    const jsm = await nc.jetstreamManager();
    const w = new ObjectWriter(nc.jetstream(), jsm, BUCKET, new ChunkSlots(8), { chunkBytes: 64 * 1024, timeoutMs: 400, tries: 20 });
    const data = bytes(3 * 1024 * 1024, 1);
    let paused = false;
    for (let o = 0; o < data.length; o += 50_000) {
      if (!paused && o >= 1024 * 1024) {
        paused = true;
        process.kill(nats.proc!.pid!, 'SIGSTOP');
        setTimeout(() => process.kill(nats.proc!.pid!, 'SIGCONT'), 1500);
      }
      await w.write(data.subarray(o, o + 50_000));
    }
    await w.commit('paused-object', 'test');
    assert.ok(w.resends > 0, 'some chunk was sent again');
    const os = await nc.jetstream().views.os(BUCKET);
    const back = await os.getBlob('paused-object');
    assert.ok(back && Buffer.from(back).equals(data), 'read back byte for byte');
    // No duplicate stored: the chunk subject holds exactly the chunks written.
    assert.equal((await chunkSubjects())[w.chunkSubject], Math.ceil(data.length / (64 * 1024)));
  });

  test('abort purges what was sent and leaves nothing visible', async () => {
    const before = Object.keys(await chunkSubjects()).length;
    const w = new ObjectWriter(nc.jetstream(), await nc.jetstreamManager(), BUCKET, new ChunkSlots(8));
    await w.write(bytes(1024 * 1024, 2));
    await sleep(50);
    await w.abort();
    assert.equal(Object.keys(await chunkSubjects()).length, before);
    const os = await nc.jetstream().views.os(BUCKET);
    assert.deepEqual((await os.list()).map((o) => o.name), ['paused-object']);
  });
});
