/** Entry point of a `--workers N` thread: prepares its own engine, then runs tasks one at a time. */
import { parentPort, workerData } from 'node:worker_threads';
import { executeTask } from './execute.js';
import type { FromThread, ThreadWorkerInit, ToThread } from './executors.js';
import { prepare } from './prepare.js';
import { errorMessage, type ThreadStart } from './thread-bridge.js';

const { spec, backend, budget } = workerData as ThreadWorkerInit;
const port = parentPort!;
const send = (m: FromThread | ThreadStart<{ backend: string }>) => port.postMessage(m);

try {
  const prepared = await prepare(spec, backend, { budget });
  let queue = Promise.resolve();
  port.on('message', (m: ToThread) => {
    // One task at a time per thread: tfjs is single-threaded within an isolate anyway.
    queue = queue.then(async () => {
      try {
        send({ type: 'result', id: m.id, result: await executeTask(m.task, prepared.engine, spec.convention, prepared.memory) });
      } catch (e) {
        send({ type: 'error', id: m.id, ...errorMessage(e, { stack: true }) });
      }
    });
  });
  send({ type: 'ready', info: { backend: prepared.backend } });
} catch (e) {
  send({ type: 'failed', ...errorMessage(e, { stack: true }) });
}
