/** Gradient: the mean-loss gradient of a prepared engine's examples (its shard), in chunks. */
import { toChunks, toServiceError, type WorkerHandlers } from '@hessian/wire';
import type { WorkerRuntime } from '../runtime.js';

export function gradientHandler(rt: WorkerRuntime): WorkerHandlers['Gradient'] {
  return (call) => {
    void (async () => {
      const entry = rt.engines.entry(call.request.key);
      const g = await rt.engines.using(entry, () => entry.thread.gradient());
      for (const c of toChunks(g)) call.write(c);
      call.end();
    })().catch((e) => call.emit('error', toServiceError(e)));
  };
}
