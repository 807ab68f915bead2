/** Prepare: builds (or finds) the engine of a spec [and shard] and answers what the coordinator plans and reports with. */
import { toServiceError, type PrepareReply, type WorkerHandlers } from '@hessian/wire';
import type { WorkerRuntime } from '../runtime.js';

export function prepareHandler(rt: WorkerRuntime): WorkerHandlers['Prepare'] {
  return (call, cb) => {
    void (async () => {
      const { entry, hit, spec } = await rt.engines.prepare(call.request);
      rt.counters.prepares.inc({ cache: hit ? 'hit' : 'miss' });
      return rt.engines.using(entry, async (): Promise<PrepareReply> => {
        const info = entry.thread.info;
        const groups = await entry.thread.groups(spec.convention);
        return {
          key: entry.key,
          params: info.params,
          examples: info.examples,
          backend: info.backend,
          lossSum: info.lossValue * info.examples,
          groupsJson: JSON.stringify(groups),
          modelName: info.modelName,
          inputShape: info.inputShape,
          dataDescription: info.dataDescription,
          backendDetail: info.backendDetail,
          lossValue: info.lossValue,
          totalExamples: info.totalExamples,
          modelParams: info.params,
          memoryBudgetBytes: info.memoryBudgetBytes,
          memoryBudgetSource: info.memoryBudgetSource,
          engineBytes: info.engineBytes,
          hvpSeconds: info.hvpSeconds,
          products: info.products,
        };
      });
    })().then(
      (r) => cb(null, r),
      (e) => {
        rt.log.warn({ jobId: call.request.jobId, err: String(e) }, 'prepare failed');
        cb(toServiceError(e));
      },
    );
  };
}
