/** UserError <-> gRPC status: user-caused errors keep their sentence and their code. */
import * as grpc from '@grpc/grpc-js';
import { isUserError, UserError, type UserErrorCode } from '@hessian/linalg';

const TO_STATUS: Record<UserErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
};

/** gRPC codes a user causes (bad spec, unknown file, refused state, over a limit): never retried, shown as a sentence. */
export const USER_STATUS_CODES: ReadonlySet<grpc.status> = new Set(Object.values(TO_STATUS));

/** A service error for a thrown value: UserErrors keep code and sentence; anything else is INTERNAL. */
export function toServiceError(e: unknown): Partial<grpc.ServiceError> & { code: grpc.status; details: string } {
  if (isUserError(e)) return { code: TO_STATUS[e.code], details: e.message, message: e.message };
  const msg = e instanceof Error ? e.message : String(e);
  return { code: grpc.status.INTERNAL, details: `internal error: ${msg}`, message: msg };
}

/** A gRPC error back to a UserError where it carries a user-caused code, so the CLI can print it and exit 2. */
export function fromServiceError(e: unknown): unknown {
  const err = e as Partial<grpc.ServiceError>;
  if (typeof err?.code !== 'number') return e;
  const code = (Object.entries(TO_STATUS).find(([, s]) => s === err.code)?.[0] ?? null) as UserErrorCode | null;
  if (code) return new UserError(err.details || err.message || 'request refused', code);
  return e;
}

/** Waits ms milliseconds (services' retry and poll loops). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
