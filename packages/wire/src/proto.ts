/**
 * Loads the wire contract (proto/hessian/v1) for @grpc/grpc-js. Types generated from the
 * same files live in ./gen (regenerate with `npm run gen -w @hessian/wire`).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType as CoordinatorProto } from './gen/coordinator.js';
import type { ProtoGrpcType as WorkerProto } from './gen/worker.js';
import { markUndecodable, refuseUndecodable } from './undecodable.js';

/** proto/ at the repository root (packages/wire/dist/src -> ../../../../proto). */
export const PROTO_ROOT = fileURLToPath(new URL('../../../../proto', import.meta.url));

/** Same options as the type generator: numbers for 64-bit ints, enum names, defaults, oneof names. */
export const LOADER_OPTIONS: protoLoader.Options = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let cached: { coordinator: CoordinatorProto; worker: WorkerProto } | null = null;

/**
 * A loaded package definition as the type proto-loader-gen-types generated from the same
 * .proto files. grpc-js can only return an untyped GrpcObject; the generator's documented use
 * is exactly this assertion, made here once for both services' contracts.
 */
function typedPackage<T>(definition: protoLoader.PackageDefinition): T {
  return grpc.loadPackageDefinition(definition) as T;
}

export function loadProtos(): { coordinator: CoordinatorProto; worker: WorkerProto } {
  if (!cached) {
    // Undecodable requests become a marker that SERVER_OPTIONS' interceptor refuses (undecodable.ts).
    const c = markUndecodable(protoLoader.loadSync(['hessian/v1/coordinator.proto'], LOADER_OPTIONS));
    const w = markUndecodable(protoLoader.loadSync(['hessian/v1/worker.proto'], LOADER_OPTIONS));
    cached = {
      coordinator: typedPackage<CoordinatorProto>(c),
      worker: typedPackage<WorkerProto>(w),
    };
  }
  return cached;
}

/** gRPC channel options: vectors of large models exceed the default 4 MiB message limit. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

/** Options of every gRPC server of ours: CHANNEL_OPTIONS, and undecodable requests are INVALID_ARGUMENT, not INTERNAL. */
export const SERVER_OPTIONS: grpc.ServerOptions = { ...CHANNEL_OPTIONS, interceptors: [refuseUndecodable] };
