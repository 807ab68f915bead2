/**
 * One limit on the bytes of all uploads in progress together (HESSIAN_UPLOAD_BYTES_IN_FLIGHT):
 * an upload reserves its declared size before any byte is sent (a legacy upload without sizes
 * reserves as its bytes arrive) and gives it back when it ends, stored, refused or aborted.
 */
import { UserError } from '@hessian/linalg';

export class UploadBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get inFlight(): number {
    return this.used;
  }

  /** Takes `bytes` more for one upload (already holding `held`); RESOURCE_EXHAUSTED past the limit. */
  reserve(bytes: number, held = 0): void {
    if (this.used + bytes > this.limit) {
      const others = this.used - held;
      throw new UserError(
        `upload: ${others} bytes of other uploads are in flight and this one needs ${held + bytes}, past the limit on concurrent upload bytes of ${this.limit} (HESSIAN_UPLOAD_BYTES_IN_FLIGHT); try again when they finish, or raise the limit`,
        'RESOURCE_EXHAUSTED',
      );
    }
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
