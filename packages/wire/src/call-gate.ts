/**
 * One authentication gate in front of a gRPC service's handlers, shared by the coordinator's
 * bearer tokens and the worker's cluster secret: `check(metadata)` returns null (the call goes
 * on) or the sentence of the refusal, which ends the call UNAUTHENTICATED before its handler
 * runs and is logged with the method and the caller's address. Streaming calls that the client
 * writes to are drained, so a refused upload does not stall the client's writes.
 */
import * as grpc from '@grpc/grpc-js';

export interface GateLog {
  warn(fields: object, msg: string): void;
}

export interface CallGate {
  unary<Req, Res>(method: string, f: grpc.handleUnaryCall<Req, Res>): grpc.handleUnaryCall<Req, Res>;
  serverStream<Req, Res>(method: string, f: grpc.handleServerStreamingCall<Req, Res>): grpc.handleServerStreamingCall<Req, Res>;
  clientStream<Req, Res>(method: string, f: grpc.handleClientStreamingCall<Req, Res>): grpc.handleClientStreamingCall<Req, Res>;
  bidi<Req, Res>(method: string, f: grpc.handleBidiStreamingCall<Req, Res>): grpc.handleBidiStreamingCall<Req, Res>;
}

/** `what` names the refused thing in the log line, e.g. 'unauthenticated worker call refused'. */
export function callGate(check: (metadata: grpc.Metadata) => string | null, log: GateLog, what: string): CallGate {
  const refusal = (method: string, call: { metadata: grpc.Metadata; getPeer(): string }): Partial<grpc.ServiceError> | null => {
    const why = check(call.metadata);
    if (why === null) return null;
    log.warn({ method, peer: call.getPeer(), why }, what);
    return { code: grpc.status.UNAUTHENTICATED, details: why, message: why };
  };
  return {
    unary: (method, f) => (call, cb) => {
      const err = refusal(method, call);
      if (err) cb(err);
      else f(call, cb);
    },
    serverStream: (method, f) => (call) => {
      const err = refusal(method, call);
      if (err) call.emit('error', err);
      else f(call);
    },
    clientStream: (method, f) => (call, cb) => {
      const err = refusal(method, call);
      if (!err) return f(call, cb);
      call.on('data', () => undefined);
      cb(err);
    },
    bidi: (method, f) => (call) => {
      const err = refusal(method, call);
      if (!err) return f(call);
      call.on('data', () => undefined);
      call.emit('error', err);
    },
  };
}
