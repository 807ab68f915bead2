/**
 * Bytes that are not the request message: INVALID_ARGUMENT with a sentence (grpc-js alone
 * says INTERNAL), on unary and streaming methods, and the handler never runs; a real
 * request still reaches it.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadProtos, SERVER_OPTIONS } from '../src/index.js';

const GARBAGE = Buffer.from('ffffffffffffffff', 'hex');
const raw = (b: Buffer) => b;

let server: grpc.Server;
let client: grpc.Client;
const calls: string[] = [];

before(async () => {
  const { worker } = loadProtos();
  server = new grpc.Server(SERVER_OPTIONS);
  const unimplemented = new Proxy(
    {},
    {
      get: (_t, name: string) => (call: { on?: (e: string, f: () => void) => void }, cb?: (e: null, r: object) => void) => {
        calls.push(name);
        if (cb) cb(null, {});
        else if (call.on) call.on('end', () => undefined);
      },
    },
  );
  server.addService(worker.hessian.v1.Worker.service, unimplemented as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});
after(() => {
  client?.close();
  server?.forceShutdown();
});

test('garbage bytes on a unary method: INVALID_ARGUMENT naming the method, the handler is not called', async () => {
  const err = await new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest('/hessian.v1.Worker/Health', raw, raw, GARBAGE, (e) => resolve(e)));
  assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, err?.details);
  assert.match(err!.details, /^request: the bytes sent to \/hessian.v1.Worker\/Health are not a valid protobuf message of its request type \(.+\); send a message encoded from proto\/hessian\/v1$/);
  assert.deepEqual(calls, []);
  const ok = await new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest('/hessian.v1.Worker/Health', raw, raw, Buffer.alloc(0), (e) => resolve(e)));
  assert.equal(ok, null);
  assert.deepEqual(calls, ['Health']);
});

test('garbage bytes on a server-streaming method: INVALID_ARGUMENT', async () => {
  const call = client.makeServerStreamRequest('/hessian.v1.Worker/RunTask', raw, raw, GARBAGE);
  const err = await new Promise<grpc.ServiceError>((resolve) => {
    call.on('error', resolve);
    call.on('data', () => undefined);
  });
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT, err.details);
  assert.ok(!calls.includes('RunTask'));
});
