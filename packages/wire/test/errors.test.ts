import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUserError, UserError } from '@hessian/linalg';
import { fromServiceError, toServiceError, USER_STATUS_CODES } from '../src/index.js';

test('UserErrors keep their code and sentence across gRPC and back; other errors are INTERNAL', () => {
  for (const [code, status] of [
    ['INVALID_ARGUMENT', grpc.status.INVALID_ARGUMENT],
    ['NOT_FOUND', grpc.status.NOT_FOUND],
    ['FAILED_PRECONDITION', grpc.status.FAILED_PRECONDITION],
    ['RESOURCE_EXHAUSTED', grpc.status.RESOURCE_EXHAUSTED],
  ] as const) {
    const se = toServiceError(new UserError('layers: fix it', code));
    assert.equal(se.code, status);
    assert.equal(se.details, 'layers: fix it');
    assert.ok(USER_STATUS_CODES.has(status));
    const back = fromServiceError(se);
    assert.ok(isUserError(back) && back.code === code && back.message === 'layers: fix it');
  }
  const internal = toServiceError(new Error('boom'));
  assert.equal(internal.code, grpc.status.INTERNAL);
  assert.equal(internal.details, 'internal error: boom');
  assert.equal(USER_STATUS_CODES.has(grpc.status.INTERNAL), false);
  assert.equal(USER_STATUS_CODES.has(grpc.status.UNAVAILABLE), false);
  const unavailable = { code: grpc.status.UNAVAILABLE, details: 'gone' };
  assert.equal(fromServiceError(unavailable), unavailable, 'not a user error: passed through');
});
