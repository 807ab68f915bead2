/** The Worker gRPC service: one handler per RPC, each in its own module, over a WorkerRuntime. */
import type { WorkerHandlers } from '@hessian/wire';
import type { WorkerRuntime } from '../runtime.js';
import { gradientHandler } from './gradient.js';
import { hvpHandler } from './hvp.js';
import { prepareHandler } from './prepare.js';
import { runTaskHandler } from './run-task.js';
import { trainGradientHandler } from './train-gradient.js';

export function workerHandlers(rt: WorkerRuntime): WorkerHandlers {
  return {
    Prepare: prepareHandler(rt),
    RunTask: runTaskHandler(rt),
    Hvp: hvpHandler(rt),
    Gradient: gradientHandler(rt),
    TrainGradient: trainGradientHandler(rt),
    Health: (_call, cb) => cb(null, { id: rt.id, backend: rt.backendName, running: rt.running.size, draining: rt.draining }),
  };
}
