/**
 * Authenticated internals in every overlay (issue 16): nats-server reads its users per role from
 * the ConfigMap nats-auth (`-c`, read-only mount) with the passwords as environment references
 * filled from the Secret hessian-internal; the coordinator, the workers and the trainer each
 * connect as their own role with its password and carry the workers' cluster secret; that
 * Secret is never rendered (so `kubectl apply -k` cannot replace it with a placeholder) and its
 * keys are the ones `hessctl cluster credentials --k8s` prints. So a pod of the namespace that
 * reaches NATS 4222 (allowed by the NetworkPolicies) still cannot publish a cancel or a heartbeat,
 * and one that reaches a worker cannot call it without the secret.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { envOf, one, workload } from './k8s-helpers.js';
import { kubectlOrFail, OVERLAYS, renderOverlay, ROOT, workloads, type K8sObject, type PodSpec, type Workload } from './lib.js';

const ROLES = ['coordinator', 'worker', 'trainer'] as const;
const SECRET = 'hessian-internal';

/** The keys `hessctl cluster credentials --k8s` puts in the Secret (the built CLI, as an operator runs it). */
function printedSecretKeys(): string[] {
  const cli = path.join(ROOT, 'packages/client/dist/src/cli.js');
  assert.ok(existsSync(cli), `${cli} is not built (npx tsc -b)`);
  const r = spawnSync(process.execPath, [cli, 'cluster', 'credentials', '--k8s'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const s = parse(r.stdout) as { kind: string; metadata: { name: string; namespace: string }; stringData: Record<string, string> };
  assert.equal(s.kind, 'Secret');
  assert.equal(s.metadata.name, SECRET);
  assert.equal(s.metadata.namespace, 'hessian');
  for (const v of Object.values(s.stringData)) assert.match(v, /^h[0-9a-f]{48}$/, 'a fresh random value, a letter first (nats-server reads some bare hex as numbers)');
  return Object.keys(s.stringData).sort();
}

before(() => kubectlOrFail());

describe('authenticated internals in every overlay', () => {
  let keys: string[] = [];
  before(() => {
    keys = printedSecretKeys();
  });

  test('hessctl cluster credentials --k8s prints fresh values for every key the manifests read', () => {
    assert.deepEqual(keys, ['cluster-secret', 'coordinator-password', 'trainer-password', 'worker-password']);
    assert.notEqual(printedSecretKeys().join(), '', 'printed again');
  });

  for (const overlay of OVERLAYS)
    describe(`k8s/overlays/${overlay}`, () => {
      let objs: K8sObject[] = [];
      let ws: Workload[] = [];
      before(() => {
        objs = renderOverlay(overlay);
        ws = workloads(objs);
      });

      test(`NATS runs with users per role from the ConfigMap nats-auth, passwords from the Secret ${SECRET} (not rendered)`, () => {
        assert.ok(!objs.some((o) => o.kind === 'Secret' && o.metadata.name === SECRET), `${SECRET} must not be rendered`);
        const pod = (one(objs, 'StatefulSet', 'nats').spec as { template: { spec: PodSpec } }).template.spec;
        const nats = pod.containers[0];
        const args = nats.args ?? [];
        assert.ok(!args.includes('--user') && !args.includes('--pass') && !args.includes('--auth'), 'no credentials on the command line');
        const conf = args[args.indexOf('-c') + 1];
        assert.equal(conf, '/etc/nats/conf/auth.conf');
        const mount = nats.volumeMounts?.find((m) => conf.startsWith(`${m.mountPath}/`));
        assert.equal(mount?.readOnly, true, 'config mount read-only');
        const cm = one(objs, 'ConfigMap', pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name ?? '');
        const text = cm.data?.['auth.conf'] ?? '';
        for (const role of ROLES) {
          const line = text.split('\n').find((l) => l.includes(`user: "${role}"`)) ?? '';
          assert.match(line, new RegExp(`password: \\$${role.toUpperCase()}_PASSWORD,`), `${role}: password by reference`);
          const ref = nats.env?.find((e) => e.name === `${role.toUpperCase()}_PASSWORD`)?.valueFrom?.secretKeyRef;
          assert.deepEqual(ref, { name: SECRET, key: `${role}-password` }, `nats ${role.toUpperCase()}_PASSWORD`);
          assert.ok(keys.includes(ref.key));
        }
        // Only the coordinator may publish job subjects; workers only their heartbeats (and object store reads); the trainer nothing.
        const worker = text.split('\n').find((l) => l.includes('user: "worker"')) ?? '';
        assert.match(worker, /publish: \{ allow: \["hessian\.workers\.heartbeat", /);
        assert.doesNotMatch(worker.split('subscribe')[0], /hessian\.jobs|"[>*]"|\$JS\.API\.>|\$KV/);
        assert.match(text.split('\n').find((l) => l.includes('user: "trainer"')) ?? '', /publish: \{ deny: \[">"\] \}, subscribe: \{ allow: \["hessian\.workers\.heartbeat"\] \}/);
      });

      test('the coordinator, the workers and the trainer connect as their role, with its password and the cluster secret (required)', () => {
        for (const role of ROLES) {
          const env = envOf(objs, workload(ws, role));
          assert.equal(env.get('HESSIAN_NATS_USER')?.value, role, `${role} HESSIAN_NATS_USER`);
          assert.deepEqual(env.get('HESSIAN_NATS_PASSWORD')?.valueFrom?.secretKeyRef, { name: SECRET, key: `${role}-password` }, `${role} HESSIAN_NATS_PASSWORD`);
          assert.deepEqual(env.get('HESSIAN_CLUSTER_SECRET')?.valueFrom?.secretKeyRef, { name: SECRET, key: 'cluster-secret' }, `${role} HESSIAN_CLUSTER_SECRET`);
          for (const v of ['HESSIAN_NATS_TOKEN', 'HESSIAN_NATS_PASSWORD_FILE', 'HESSIAN_CLUSTER_SECRET_FILE']) assert.ok(!env.get(v)?.value && !env.get(v)?.valueFrom, `${role}: ${v} must stay empty (it would win or mislead)`);
        }
      });
    });
});
