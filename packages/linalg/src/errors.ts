/**
 * An error the user caused and can fix (bad spec, unknown layer, missing file, NaN weights).
 * It lives in the lowest package so every layer can throw it; the CLI prints `message`
 * alone and exits 2, the services map `code` to the gRPC status of the same name.
 * The message must be one sentence that says what to change.
 */
export type UserErrorCode = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'RESOURCE_EXHAUSTED';

export class UserError extends Error {
  constructor(
    message: string,
    readonly code: UserErrorCode = 'INVALID_ARGUMENT',
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof Error && e.name === 'UserError' && 'code' in e;
}
