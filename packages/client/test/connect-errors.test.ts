/**
 * A connection that fails says why (issue 16, item 11): a closed port is "connection
 * refused", but a plaintext client against a TLS coordinator, a TLS client against a plaintext
 * one, and a CA that did not sign the coordinator's certificate each get their own sentence
 * naming what to change. Real gRPC servers on loopback with certificates made by openssl in a
 * temporary folder; skipped, saying why, without openssl.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isUserError } from '@hessian/linalg';
import { loadProtos } from '@hessian/wire';
import { fileURLToPath } from 'node:url';
import { CoordinatorConnection } from '../src/grpc-client.js';
import { freePort } from '../src/commands/cluster-process.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const skip = hasOpenssl ? false : 'needs openssl to make test certificates';
if (skip) process.stderr.write(`# SKIP: ${skip}\n`);

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

async function failure(addr: string, opts: Parameters<typeof CoordinatorConnection.connect>[1] = {}): Promise<string> {
  try {
    const c = await CoordinatorConnection.connect(addr, { deadlineMs: 5000, ...opts });
    c.close();
  } catch (e) {
    assert.ok(isUserError(e), `a UserError, got ${String(e)}`);
    return e.message;
  }
  throw new Error(`connecting to ${addr} succeeded`);
}

describe('why a connection to the coordinator failed', { skip }, () => {
  let dir: string;
  let tlsAddr: string;
  let plainAddr: string;
  const servers: grpc.Server[] = [];
  const f = (name: string) => join(dir, name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hessctl-tls-'));
    for (const ca of ['ca', 'other-ca']) openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=${ca}`);
    openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=coordinator');
    writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
    const bind = async (creds: grpc.ServerCredentials): Promise<string> => {
      const s = new grpc.Server();
      // ListJobs only (an empty list): enough for `hessctl jobs` over TLS.
      s.addService(loadProtos().coordinator.hessian.v1.Coordinator.service, { ListJobs: (_call: unknown, cb: grpc.sendUnaryData<{ jobs: never[] }>) => cb(null, { jobs: [] }) });
      const port = await freePort();
      await new Promise<void>((res, rej) => s.bindAsync(`127.0.0.1:${port}`, creds, (e) => (e ? rej(e) : res())));
      servers.push(s);
      return `127.0.0.1:${port}`;
    };
    tlsAddr = await bind(grpc.ServerCredentials.createSsl(null, [{ private_key: readFileSync(f('server.key')), cert_chain: readFileSync(f('server.pem')) }], false));
    plainAddr = await bind(grpc.ServerCredentials.createInsecure());
  });
  after(() => {
    for (const s of servers) s.forceShutdown();
  });

  test('a closed port: connection refused, and how to start a cluster', async () => {
    const msg = await failure(`127.0.0.1:${await freePort()}`);
    assert.match(msg, /cannot be reached \(connection refused\); start a local cluster/);
  });

  test('a plaintext client against a TLS coordinator: give --tls-ca', async () => {
    const msg = await failure(tlsAddr);
    assert.equal(msg, `the coordinator at ${tlsAddr} speaks TLS and this client does not; give --tls-ca PATH (or set HESSIAN_TLS_CA) with the CA that signed its certificate`);
  });

  test('a TLS client against a plaintext coordinator: drop --tls-ca', async () => {
    const msg = await failure(plainAddr, { tlsCa: f('ca.pem') });
    assert.match(msg, /^the coordinator at 127\.0\.0\.1:\d+ speaks plaintext, without TLS; drop --tls-ca/);
  });

  test('a CA that did not sign the certificate: names the CA file', async () => {
    const msg = await failure(tlsAddr, { tlsCa: f('other-ca.pem') });
    assert.match(msg, new RegExp(`^the certificate of the coordinator at ${tlsAddr} is not signed by the CA in ${f('other-ca.pem').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(`));
  });

  test('the right CA connects; hessctl over TLS to an IP address prints no DEP0123 warning', async () => {
    const c = await CoordinatorConnection.connect(tlsAddr, { deadlineMs: 5000, tlsCa: f('ca.pem') });
    c.close();
    // Asynchronously: the server lives in this process, which spawnSync would block.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((res) => {
      const p = execFile(process.execPath, [CLI, 'jobs', '--server', tlsAddr, '--tls-ca', f('ca.pem')], { encoding: 'utf8', env: { ...process.env, HESSIAN_TOKEN: '' }, timeout: 60_000 }, (e, stdout, stderr) =>
        res({ status: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr }),
      );
      p.stdin?.end();
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'no jobs\n');
    assert.equal(r.stderr, '', 'nothing on stderr (grpc-js sends the IP as the TLS server name; Node would warn DEP0123)');
  });
});
