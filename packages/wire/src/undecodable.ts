/**
 * Requests whose bytes are not the message they claim to be: grpc-js answers a failed
 * deserialization with INTERNAL ("Error deserializing request"), which tells the caller the
 * server broke. Here the request deserializers of our services return an `Undecodable`
 * marker instead of throwing, and the server interceptor of `SERVER_OPTIONS` ends such a call
 * with INVALID_ARGUMENT and a sentence before any handler sees it (proto.ts wires both).
 */
import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';

export class Undecodable {
  constructor(
    readonly method: string,
    readonly why: string,
  ) {}

  get sentence(): string {
    return `request: the bytes sent to ${this.method} are not a valid protobuf message of its request type (${this.why}); send a message encoded from proto/hessian/v1`;
  }
}

/** Wraps every method's request deserializer of a loaded package definition (in place). */
export function markUndecodable(def: protoLoader.PackageDefinition): protoLoader.PackageDefinition {
  for (const service of Object.values(def)) {
    if ('format' in service) continue; // a message or enum type, not a service
    for (const m of Object.values(service as protoLoader.ServiceDefinition)) {
      const decode = m.requestDeserialize;
      m.requestDeserialize = (buf: Buffer) => {
        try {
          return decode(buf);
        } catch (e) {
          return new Undecodable(m.path, e instanceof Error ? e.message : String(e));
        }
      };
    }
  }
  return def;
}

/** Ends a call whose request message could not be decoded: INVALID_ARGUMENT, handler never called. */
export const refuseUndecodable: grpc.ServerInterceptor = (_method, call) =>
  new grpc.ServerInterceptingCall(call, {
    start: (next) =>
      next(
        new grpc.ServerListenerBuilder()
          .withOnReceiveMessage((message: unknown, pass) => {
            if (message instanceof Undecodable) call.sendStatus({ code: grpc.status.INVALID_ARGUMENT, details: message.sentence, metadata: new grpc.Metadata() });
            else pass(message);
          })
          .build(),
      ),
  });
