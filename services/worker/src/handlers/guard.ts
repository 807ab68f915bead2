/**
 * The cluster-secret gate in front of every Worker method (HESSIAN_CLUSTER_SECRET): a call
 * without the secret, or with a wrong one, ends UNAUTHENTICATED with a sentence before its
 * handler runs, and is logged with the caller's address. gRPC health stays open (it is added
 * to the server apart). With mutual TLS the handshake already refused strangers; the secret
 * is the way to close the port without certificates.
 */
import * as grpc from '@grpc/grpc-js';
import type { ClusterSecretCheck, WorkerHandlers } from '@hessian/wire';
import type { Logger } from 'pino';

type Call = { metadata: grpc.Metadata; getPeer(): string };

export function guarded(h: WorkerHandlers, check: ClusterSecretCheck | null, log: Logger): WorkerHandlers {
  if (!check) return h;
  const refusal = (method: string, call: Call) => {
    const why = check.check(call.metadata);
    if (why === null) return null;
    log.warn({ method, peer: call.getPeer(), why }, 'unauthenticated worker call refused');
    return { code: grpc.status.UNAUTHENTICATED, details: why, message: why };
  };
  const unary =
    <Req, Res>(method: string, f: grpc.handleUnaryCall<Req, Res>): grpc.handleUnaryCall<Req, Res> =>
    (call, cb) => {
      const err = refusal(method, call);
      if (err) cb(err);
      else f(call, cb);
    };
  const serverStream =
    <Req, Res>(method: string, f: grpc.handleServerStreamingCall<Req, Res>): grpc.handleServerStreamingCall<Req, Res> =>
    (call) => {
      const err = refusal(method, call);
      if (err) call.emit('error', err);
      else f(call);
    };
  return {
    Prepare: unary('Prepare', h.Prepare),
    Health: unary('Health', h.Health),
    RunTask: serverStream('RunTask', h.RunTask),
    Gradient: serverStream('Gradient', h.Gradient),
    Hvp: (call) => {
      const err = refusal('Hvp', call);
      if (!err) return h.Hvp(call);
      call.on('data', () => undefined);
      call.emit('error', err);
    },
    TrainGradient: (call) => {
      const err = refusal('TrainGradient', call);
      if (!err) return h.TrainGradient(call);
      call.on('data', () => undefined);
      call.emit('error', err);
    },
  };
}
