/**
 * k8s/overlays/secure and secure-gpu: TLS on every gRPC hop (mutual TLS to the workers), bearer
 * tokens, NATS over TLS, the kubelet's probes on plaintext health-only ports, and no Secret
 * rendered (the operator's real one is never overwritten).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { HEALTH_PORTS, AUTH_DIR, one, workload, envOf } from './k8s-helpers.js';
import { kubectlOrFail, renderOverlay, workloads, type K8sObject, type PodSpec, type Workload } from './lib.js';

before(() => kubectlOrFail());

for (const overlay of ['secure', 'secure-gpu'] as const) describe(`k8s/overlays/${overlay}: TLS, tokens, NATS over TLS, probes on the health ports`, () => {
  let objs: K8sObject[] = [];
  let ws: Workload[] = [];
  let secretKeys: string[] = [];
  before(() => {
    objs = renderOverlay(overlay);
    ws = workloads(objs);
    // The keys the Secret hessian-auth has (the base's placeholder, rendered by the cpu overlay).
    const s = one(renderOverlay('cpu'), 'Secret', 'hessian-auth');
    secretKeys = Object.keys({ ...(s.stringData ?? {}), ...(s.data ?? {}) });
  });
  const envIn = (w: Workload) => envOf(objs, w);
  /** The Secret key behind a file path: the path must lie in a mount of a hessian-auth volume. */
  const secretFile = (w: Workload, file: string | undefined): string | undefined => {
    const c = w.pod.containers[0];
    for (const m of c.volumeMounts ?? []) {
      const vol = w.pod.volumes?.find((v) => v.name === m.name);
      if (vol?.secret?.secretName === 'hessian-auth' && file?.startsWith(`${m.mountPath}/`)) return file.slice(m.mountPath.length + 1);
    }
    return undefined;
  };

  test('coordinator and workers: both probes on HESSIAN_HEALTH_PORT (exposed, not the TLS port), service names as in the base', () => {
    for (const component of ['coordinator', 'worker'] as const) {
      const w = workload(ws, component);
      const c = w.pod.containers[0];
      const port = HEALTH_PORTS[component];
      assert.equal(envIn(w).get('HESSIAN_HEALTH_PORT')?.value, String(port), `${component} HESSIAN_HEALTH_PORT`);
      assert.deepEqual(c.readinessProbe?.grpc, { port }, `${component} readiness`);
      assert.deepEqual(c.livenessProbe?.grpc, { port, service: 'liveness' }, `${component} liveness`);
      assert.ok(c.ports?.some((p) => p.containerPort === port), `${component} exposes ${port}`);
      assert.notEqual(port, c.ports?.find((p) => p.name === 'grpc')?.containerPort);
    }
  });

  test('TLS and tokens: the HESSIAN_TLS_* and tokens files are keys of the mounted Secret; mutual TLS on the workers, the coordinator and the trainer present their certificates', () => {
    const files: Record<string, Record<string, string>> = {
      coordinator: { HESSIAN_TLS_CERT: 'coordinator.crt', HESSIAN_TLS_KEY: 'coordinator.key', HESSIAN_TLS_CA: 'ca.crt', HESSIAN_API_TOKENS_FILE: 'api-tokens' },
      worker: { HESSIAN_TLS_CERT: 'worker.crt', HESSIAN_TLS_KEY: 'worker.key', HESSIAN_TLS_CA: 'ca.crt' },
      // The trainer dials the workers like the coordinator: CA + its own client certificate.
      trainer: { HESSIAN_TLS_CERT: 'trainer.crt', HESSIAN_TLS_KEY: 'trainer.key', HESSIAN_TLS_CA: 'ca.crt' },
    };
    for (const [component, want] of Object.entries(files)) {
      const w = workload(ws, component);
      const env = envOf(objs, w);
      for (const [name, key] of Object.entries(want)) {
        const file = env.get(name)?.value;
        assert.equal(file, `${AUTH_DIR}/${key}`, `${component} ${name}`);
        assert.equal(secretFile(w, file), key, `${component} ${name}: ${file} is not in a hessian-auth mount`);
        assert.ok(secretKeys.includes(key), `${key} is not a key of the Secret`);
      }
      const mount = w.pod.containers[0].volumeMounts?.find((m) => m.mountPath === AUTH_DIR);
      assert.equal(mount?.readOnly, true, `${component}: ${AUTH_DIR} read-only`);
    }
    const worker = envIn(workload(ws, 'worker'));
    assert.equal(worker.get('HESSIAN_TLS_CLIENT_AUTH')?.value, 'require', 'workers require client certificates');
    // Workers are dialled by pod IP: the coordinator and the trainer check their certificate against a fixed name.
    for (const component of ['coordinator', 'trainer']) assert.equal(envIn(workload(ws, component)).get('HESSIAN_TLS_SERVER_NAME')?.value, 'worker', `${component} HESSIAN_TLS_SERVER_NAME`);
  });

  test('NATS speaks TLS with nats.crt/nats.key of the Secret (read-only); every NATS client uses tls:// and the CA; /healthz stays on plaintext 8222', () => {
    const sts = one(objs, 'StatefulSet', 'nats').spec as { template: { spec: PodSpec } };
    const pod = sts.template.spec;
    const nats = pod.containers[0];
    const args = nats.args ?? [];
    assert.ok(args.includes('--tls'), '--tls');
    for (const [flag, key] of [['--tlscert', 'nats.crt'], ['--tlskey', 'nats.key']] as const) {
      const file = args[args.indexOf(flag) + 1];
      assert.ok(args.includes(flag), flag);
      const m = nats.volumeMounts?.find((x) => file.startsWith(`${x.mountPath}/`));
      assert.equal(m?.readOnly, true, `${flag} ${file} in a read-only mount`);
      const vol = pod.volumes?.find((v) => v.name === m?.name);
      assert.equal(vol?.secret?.secretName, 'hessian-auth', `${flag} from hessian-auth`);
      const rel = file.slice((m?.mountPath.length ?? 0) + 1);
      const item = vol?.secret?.items ? vol.secret.items.find((i) => i.path === rel)?.key : rel;
      assert.equal(item, key, `${flag} is the Secret key ${key}`);
      assert.ok(secretKeys.includes(key), `${key} is not a key of the Secret`);
    }
    assert.equal(args[args.indexOf('-m') + 1], '8222');
    for (const p of [nats.readinessProbe, nats.livenessProbe]) {
      assert.equal(p?.httpGet?.path, '/healthz');
      assert.equal(p?.httpGet?.port, 'monitor');
      assert.notEqual(p?.httpGet?.scheme, 'HTTPS');
    }
    for (const component of ['coordinator', 'worker', 'trainer']) {
      const w = workload(ws, component);
      const env = envOf(objs, w);
      assert.equal(env.get('HESSIAN_NATS_URL')?.value, 'tls://nats:4222', `${component} HESSIAN_NATS_URL`);
      const ca = env.get('HESSIAN_NATS_TLS_CA')?.value;
      assert.equal(ca, `${AUTH_DIR}/ca.crt`, `${component} HESSIAN_NATS_TLS_CA`);
      assert.equal(secretFile(w, ca), 'ca.crt', `${component}: ${ca} is not in a hessian-auth mount`);
    }
  });
});
