/**
 * Hvp (data-parallel scope): a bidirectional stream; the first message names the engine key,
 * operator, scope and convention; every complete vector received is answered with the product
 * of this shard's operator, in chunks. Vectors move to and from the compute thread by transfer.
 */
import * as grpc from '@grpc/grpc-js';
import { toChunks, VectorAssembler, type HvpRequest__Output, type WorkerHandlers } from '@hessian/wire';
import type { Entry } from '../engines.js';
import { callError, Cancelled, conventionOf, type WorkerRuntime } from '../runtime.js';

export function hvpHandler(rt: WorkerRuntime): WorkerHandlers['Hvp'] {
  return (call) => {
    let entry: Entry | null = null;
    let stream: Promise<number> | null = null;
    let asm = new VectorAssembler();
    let chain: Promise<void> = Promise.resolve();
    let failed = false;
    // Compute seconds of this stream's products, logged at its end (bench/large sets them against the coordinator's traffic).
    let products = 0;
    let computeSeconds = 0;
    let scope = '';
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      call.emit('error', callError(e));
    };
    call.on('data', (req: HvpRequest__Output) => {
      if (failed) return;
      try {
        if (!entry) {
          if (rt.draining) throw new Cancelled(grpc.status.UNAVAILABLE, `worker ${rt.id} is draining`);
          const convention = conventionOf(req.convention);
          entry = rt.engines.entry(req.key);
          scope = req.scope || 'full';
          entry.users++;
          stream = entry.thread.open(req.operator || 'hessian', req.scope || 'full', convention);
          chain = stream.then(() => undefined);
          chain.catch(fail);
        }
        if (!req.v) return;
        asm.add(req.v);
        if (asm.complete) {
          const v = asm.result();
          asm = new VectorAssembler();
          const thread = entry.thread;
          const s = stream!;
          chain = chain.then(async () => {
            if (failed) return;
            // v's buffer moves to the compute thread; the product's buffer moves back.
            const t0 = performance.now();
            const hv = await thread.matvec(await s, v);
            computeSeconds += (performance.now() - t0) / 1000;
            products++;
            rt.counters.hvps.inc();
            for (const c of toChunks(hv)) call.write(c);
          });
          chain.catch(fail);
        }
      } catch (e) {
        fail(e);
      }
    });
    call.on('end', () => {
      if (entry) rt.log.info({ key: entry.key, scope, products, computeSeconds }, 'hvp stream done');
      void chain.then(
        () => {
          if (!failed) call.end();
        },
        () => undefined,
      );
    });
    const release = () => {
      if (entry) {
        const thread = entry.thread;
        stream?.then(
          (s) => thread.release(s),
          () => undefined,
        );
        entry.users--;
        entry = null;
      }
    };
    call.on('finish', release);
    call.on('cancelled', release);
    call.on('error', release);
  };
}
