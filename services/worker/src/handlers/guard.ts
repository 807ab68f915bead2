/**
 * The cluster-secret gate in front of every Worker method (HESSIAN_CLUSTER_SECRET): a call
 * without the secret, or with a wrong one, ends UNAUTHENTICATED with a sentence before its
 * handler runs, and is logged with the caller's address. gRPC health stays open (it is added
 * to the server apart). With mutual TLS the handshake already refused strangers; the secret
 * is the way to close the port without certificates.
 */
import { callGate, type ClusterSecretCheck, type WorkerHandlers } from '@hessian/wire';
import type { Logger } from 'pino';

export function guarded(h: WorkerHandlers, check: ClusterSecretCheck | null, log: Logger): WorkerHandlers {
  if (!check) return h;
  const gate = callGate((md) => check.check(md), log, 'unauthenticated worker call refused');
  return {
    Prepare: gate.unary('Prepare', h.Prepare),
    Health: gate.unary('Health', h.Health),
    RunTask: gate.serverStream('RunTask', h.RunTask),
    Gradient: gate.serverStream('Gradient', h.Gradient),
    Hvp: gate.bidi('Hvp', h.Hvp),
    TrainGradient: gate.bidi('TrainGradient', h.TrainGradient),
  };
}
