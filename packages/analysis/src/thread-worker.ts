/** Entry point of a `--workers N` thread: prepares its own engine, then runs tasks one at a time. */
import type { BackendName } from '@hessian/engine';
import { parentPort, workerData } from 'node:worker_threads';
import { executeTask } from './execute.js';
import { errorMessage, type FromThread, type ToThread } from './executors.js';
import { prepare } from './prepare.js';
import type { AnalysisSpec } from './spec.js';

const { spec, backend } = workerData as { spec: AnalysisSpec; backend: BackendName };
const port = parentPort!;
const send = (m: FromThread) => port.postMessage(m);

try {
  const prepared = await prepare(spec, backend);
  let queue = Promise.resolve();
  port.on('message', (m: ToThread) => {
    if (m.type === 'close') process.exit(0);
    // One task at a time per thread: tfjs is single-threaded within an isolate anyway.
    queue = queue.then(async () => {
      try {
        send({ type: 'result', id: m.task.id, result: await executeTask(m.task, prepared.engine, spec.convention, prepared.memory) });
      } catch (e) {
        send({ type: 'error', id: m.task.id, ...errorMessage(e) });
      }
    });
  });
  send({ type: 'ready', backend: prepared.backend });
} catch (e) {
  send({ type: 'error', id: null, ...errorMessage(e) });
}
