/**
 * The Kubernetes manifests (k8s/): every overlay rendered with `kubectl kustomize`, every
 * object validated against the Kubernetes schemas (kubernetes-models), every container
 * checked (probes, resources, pinned image, no privilege), the NetworkPolicies checked by
 * what they let through, and the ConfigMaps against the variables the services' READMEs list.
 * The last describe block feeds broken objects to the same checks, to show each can fail.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import {
  containerProblems,
  imageProblem,
  ingressAllowed,
  kubectlOrFail,
  matches,
  OVERLAYS,
  podProblems,
  renderOverlay,
  ROOT,
  schemaProblems,
  workloads,
  type Container,
  type K8sObject,
  type LabelSelector,
  type NetworkPolicySpec,
  type PodSpec,
  type Source,
  type Target,
  type Workload,
} from './lib.js';

const NS = 'hessian';
const NS_LABELS = { 'kubernetes.io/metadata.name': NS };
const COMPONENT = 'app.kubernetes.io/component';
/** k8s/overlays/secure: HESSIAN_HEALTH_PORT of each service (the probes' port there). */
const HEALTH_PORTS = { coordinator: 7080, worker: 7081 } as const;
const AUTH_DIR = '/etc/hessian/auth';

function byKind(objs: K8sObject[], kind: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind);
}
function one(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is missing from the rendered overlay`);
  return o;
}
function workload(ws: Workload[], component: string): Workload {
  const w = ws.find((x) => x.labels[COMPONENT] === component);
  assert.ok(w, `no workload with ${COMPONENT}=${component}`);
  return w;
}
function policies(objs: K8sObject[]): { name: string; spec: NetworkPolicySpec }[] {
  return byKind(objs, 'NetworkPolicy').map((o) => ({ name: o.metadata.name, spec: o.spec as unknown as NetworkPolicySpec }));
}
/** Names of the workloads whose pods the selector selects. */
function selected(sel: LabelSelector | undefined, ws: Workload[]): string[] {
  return ws
    .filter((w) => matches(sel, w.labels))
    .map((w) => w.labels[COMPONENT])
    .sort();
}
/** The HESSIAN_* variables in the Environment table of a README. */
function readmeVariables(rel: string): string[] {
  const text = readFileSync(path.join(ROOT, rel), 'utf8');
  const env = text.slice(text.indexOf('## Environment'));
  return [...new Set([...env.matchAll(/^\| `(HESSIAN_[A-Z0-9_]+)`/gm)].map((m) => m[1]))];
}

before(() => kubectlOrFail());

for (const overlay of OVERLAYS) {
  describe(`k8s/overlays/${overlay}`, () => {
    let objs: K8sObject[] = [];
    let ws: Workload[] = [];
    // secure: TLS on the gRPC ports, probes on the plaintext health ports, no Secret object.
    const secure = overlay.startsWith('secure');
    before(() => {
      objs = renderOverlay(overlay);
      ws = workloads(objs);
    });

    test('renders the expected objects, all in the hessian namespace', () => {
      assert.ok(objs.length > 10, `only ${objs.length} objects`);
      one(objs, 'Namespace', NS);
      for (const [kind, name] of [
        ['StatefulSet', 'nats'],
        ['Service', 'nats'],
        ['Deployment', 'coordinator'],
        ['Service', 'coordinator'],
        ['Deployment', 'worker'],
        ['Job', 'trainer'],
        ['PodDisruptionBudget', 'worker'],
        ...(secure ? [] : [['Secret', 'hessian-auth']]),
        ['ConfigMap', 'hessian-common'],
        ['ConfigMap', 'hessian-coordinator'],
        ['ConfigMap', 'hessian-worker'],
        ['NetworkPolicy', 'default-deny-ingress'],
      ] as const) {
        const o = one(objs, kind, name);
        assert.equal(o.metadata.namespace, NS, `${kind}/${name} namespace`);
      }
    });

    test('every object is valid against the Kubernetes schema of its kind (kubernetes-models)', () => {
      const problems = objs.flatMap(schemaProblems);
      assert.deepEqual(problems, []);
    });

    test('every container: probes (gRPC for our services), requests and limits, a pinned image, no privilege', () => {
      const problems = ws.flatMap(podProblems);
      assert.deepEqual(problems, []);
    });

    test('coordinator and workers: gRPC health probes (readiness on "", liveness on "liveness") and prometheus annotations', () => {
      for (const [component, port] of [
        ['coordinator', secure ? HEALTH_PORTS.coordinator : 7070],
        ['worker', secure ? HEALTH_PORTS.worker : 7071],
      ] as const) {
        const w = workload(ws, component);
        const c = w.pod.containers[0];
        assert.deepEqual(c.readinessProbe?.grpc, { port }, `${component} readiness`);
        assert.deepEqual(c.livenessProbe?.grpc, { port, service: 'liveness' }, `${component} liveness`);
        assert.equal(w.annotations['prometheus.io/scrape'], 'true');
        const metrics = c.ports?.find((p) => p.name === 'metrics')?.containerPort;
        assert.equal(w.annotations['prometheus.io/port'], String(metrics));
      }
    });

    test('NATS: JetStream on a PersistentVolumeClaim, image pinned to an exact 2.9 version', () => {
      const sts = one(objs, 'StatefulSet', 'nats').spec as { volumeClaimTemplates: { metadata: { name: string } }[]; template: { spec: { containers: { image: string; args: string[]; volumeMounts: { name: string; mountPath: string }[] }[] } } };
      const c = sts.template.spec.containers[0];
      assert.match(c.image, /^nats:2\.9\.\d+-alpine$/);
      assert.ok(c.args.includes('-js'), 'JetStream (-js)');
      const sd = c.args[c.args.indexOf('-sd') + 1];
      const mount = c.volumeMounts.find((m) => sd.startsWith(m.mountPath));
      assert.ok(mount, `the JetStream store ${sd} is on a mounted volume`);
      assert.ok(sts.volumeClaimTemplates.some((v) => v.metadata.name === mount.name), 'that volume is a PersistentVolumeClaim template');
    });

    test('Services and the PodDisruptionBudget select the pods they front', () => {
      for (const s of byKind(objs, 'Service')) {
        const sel = (s.spec as { selector: Record<string, string> }).selector;
        assert.deepEqual(selected({ matchLabels: sel }, ws), [s.metadata.labels?.[COMPONENT]], `Service/${s.metadata.name}`);
      }
      const coord = (one(objs, 'Service', 'coordinator').spec as { ports: { name: string; port: number }[] }).ports;
      assert.deepEqual(
        coord.map((p) => [p.name, p.port]),
        [
          ['grpc', 7070],
          ['metrics', 9464],
        ],
      );
      const pdb = one(objs, 'PodDisruptionBudget', 'worker').spec as { selector: LabelSelector; maxUnavailable?: number };
      assert.deepEqual(selected(pdb.selector, ws), ['worker']);
      assert.equal(pdb.maxUnavailable, 1);
    });

    test('ConfigMaps carry every variable the services read (services/*/README.md) and the pods use them', () => {
      const cms = byKind(objs, 'ConfigMap');
      const keysOf = (w: Workload) => {
        const c = w.pod.containers[0];
        const keys = new Set((c.env ?? []).map((e) => e.name));
        for (const ef of c.envFrom ?? []) {
          const cm = cms.find((x) => x.metadata.name === ef.configMapRef?.name);
          assert.ok(cm || ef.secretRef, `${w.name}: envFrom ConfigMap ${ef.configMapRef?.name} exists`);
          for (const k of Object.keys(cm?.data ?? {})) keys.add(k);
        }
        return keys;
      };
      for (const [component, readme] of [
        ['coordinator', 'services/coordinator/README.md'],
        ['worker', 'services/worker/README.md'],
      ] as const) {
        const vars = readmeVariables(readme);
        assert.ok(vars.length >= 5, `${readme}: found ${vars.length} variables`);
        const have = keysOf(workload(ws, component));
        assert.deepEqual(
          vars.filter((v) => !have.has(v)),
          [],
          `${component}: variables of ${readme} not set`,
        );
      }
      const worker = workload(ws, 'worker').pod.containers[0];
      assert.equal(worker.env?.find((e) => e.name === 'HESSIAN_ADVERTISE_ADDRESS')?.value, '$(POD_IP):7071');
    });

    test(secure ? 'the Secret is not rendered (created with kubectl; apply must not overwrite it)' : 'the Secret is a placeholder: known keys, empty values', () => {
      if (secure) {
        assert.equal(byKind(objs, 'Secret').length, 0);
        return;
      }
      const s = one(objs, 'Secret', 'hessian-auth');
      const values = { ...(s.stringData ?? {}), ...(s.data ?? {}) };
      assert.ok(Object.keys(values).includes('api-tokens'));
      assert.deepEqual(
        Object.entries(values).filter(([, v]) => v !== ''),
        [],
      );
    });

    test('the trainer Job is a template: created suspended', () => {
      assert.equal((one(objs, 'Job', 'trainer').spec as { suspend?: boolean }).suspend, true);
    });

    test('NetworkPolicies select the pods they mean to, and their from-selectors the intended clients', () => {
      const pols = policies(objs);
      const sel = (name: string) => selected(pols.find((p) => p.name === name)?.spec.podSelector, ws);
      assert.deepEqual(sel('default-deny-ingress'), ['coordinator', 'nats', 'trainer', 'worker']);
      assert.deepEqual(pols.find((p) => p.name === 'default-deny-ingress')?.spec.ingress ?? [], []);
      assert.deepEqual(sel('coordinator-api'), ['coordinator']);
      assert.deepEqual(sel('worker-from-coordinator-and-trainer'), ['worker']);
      assert.deepEqual(sel('nats-from-namespace'), ['nats']);
      assert.deepEqual(sel('metrics-from-monitoring'), ['coordinator', 'worker']);
      const workerFrom = pols.find((p) => p.name === 'worker-from-coordinator-and-trainer')!.spec.ingress!.flatMap((r) => r.from ?? []);
      assert.deepEqual([...new Set(workerFrom.flatMap((peer) => selected(peer.podSelector, ws)))].sort(), ['coordinator', 'trainer']);
    });

    test('NetworkPolicies: who reaches what (clients only the coordinator API; workers only from coordinator and trainer; NATS only from the namespace)', () => {
      const pols = policies(objs);
      const target = (component: string): Target => {
        const c = workload(ws, component).pod.containers[0];
        return { labels: workload(ws, component).labels, ports: c.ports ?? [] };
      };
      const pod = (component: string): Source => ({ labels: workload(ws, component).labels, namespace: NS_LABELS });
      const outside: Source = { labels: { app: 'client' }, namespace: { 'kubernetes.io/metadata.name': 'default' } };
      const monitoring: Source = { labels: { app: 'prometheus' }, namespace: { 'kubernetes.io/metadata.name': 'monitoring' } };
      const other: Source = { labels: { app: 'something-else' }, namespace: NS_LABELS };
      const can = (src: Source, component: string, port: number) => ingressAllowed(pols, target(component), port, src, NS_LABELS);

      // Clients from outside the namespace: the coordinator's API port and nothing else.
      assert.equal(can(outside, 'coordinator', 7070), true);
      assert.equal(can(outside, 'coordinator', 9464), false);
      assert.equal(can(outside, 'worker', 7071), false);
      assert.equal(can(outside, 'worker', 9465), false);
      assert.equal(can(outside, 'nats', 4222), false);
      assert.equal(can(outside, 'nats', 8222), false);
      // Workers: the coordinator and the trainer only.
      assert.equal(can(pod('coordinator'), 'worker', 7071), true);
      assert.equal(can(pod('trainer'), 'worker', 7071), true);
      assert.equal(can(pod('worker'), 'worker', 7071), false);
      assert.equal(can(pod('nats'), 'worker', 7071), false);
      assert.equal(can(other, 'worker', 7071), false);
      // NATS: any pod of the namespace, client port only.
      for (const s of [pod('coordinator'), pod('worker'), pod('trainer'), other]) assert.equal(can(s, 'nats', 4222), true);
      assert.equal(can(pod('coordinator'), 'nats', 8222), false);
      // Metrics: the monitoring namespace only.
      assert.equal(can(monitoring, 'coordinator', 9464), true);
      assert.equal(can(monitoring, 'worker', 9465), true);
      assert.equal(can(monitoring, 'worker', 7071), false);
      assert.equal(can(monitoring, 'nats', 4222), false);
      // Nobody reaches the trainer (it serves nothing).
      for (const s of [outside, pod('coordinator'), pod('worker'), monitoring]) assert.equal(can(s, 'trainer', 7071), false);
      // secure: the plaintext health ports are for the kubelet only (node traffic, which most
      // CNIs do not subject to NetworkPolicy): no pod and no outside client reaches them.
      if (secure) {
        for (const s of [outside, monitoring, other, pod('coordinator'), pod('worker'), pod('trainer')]) {
          assert.equal(can(s, 'coordinator', HEALTH_PORTS.coordinator), false);
          assert.equal(can(s, 'worker', HEALTH_PORTS.worker), false);
        }
      }
    });

    test(`workers: ${overlay.endsWith('gpu') ? 'worker-gpu image, one nvidia.com/gpu, GPU nodes, tensorflow backend' : 'worker-cpu image, no GPU, native backend'}`, () => {
      const w = workload(ws, 'worker');
      const c = w.pod.containers[0];
      const backend = one(objs, 'ConfigMap', 'hessian-worker').data?.['HESSIAN_BACKEND'];
      if (overlay.endsWith('gpu')) {
        assert.match(c.image ?? '', /^hessian\/worker-gpu:/);
        assert.equal(String(c.resources?.limits?.['nvidia.com/gpu']), '1');
        assert.ok(Object.keys(w.pod.nodeSelector ?? {}).length > 0, 'a nodeSelector for GPU nodes');
        assert.ok((w.pod.tolerations ?? []).some((t) => t.key === 'nvidia.com/gpu'), 'tolerates the GPU taint');
        assert.equal(backend, 'tensorflow');
      } else {
        assert.match(c.image ?? '', /^hessian\/worker-cpu:/);
        assert.equal(c.resources?.limits?.['nvidia.com/gpu'], undefined);
        assert.equal(backend, 'native');
      }
    });
  });
}

for (const overlay of ['secure', 'secure-gpu'] as const) describe(`k8s/overlays/${overlay}: TLS, tokens, NATS credentials, probes on the health ports`, () => {
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
  /** The container's environment: its ConfigMaps (envFrom) overlaid with env. */
  const envOf = (w: Workload) => {
    const c = w.pod.containers[0];
    const env = new Map<string, NonNullable<Container['env']>[number]>();
    for (const ef of c.envFrom ?? []) {
      const cm = byKind(objs, 'ConfigMap').find((x) => x.metadata.name === ef.configMapRef?.name);
      for (const [name, value] of Object.entries(cm?.data ?? {})) env.set(name, { name, value });
    }
    for (const e of c.env ?? []) env.set(e.name, e);
    return env;
  };
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
      assert.equal(envOf(w).get('HESSIAN_HEALTH_PORT')?.value, String(port), `${component} HESSIAN_HEALTH_PORT`);
      assert.deepEqual(c.readinessProbe?.grpc, { port }, `${component} readiness`);
      assert.deepEqual(c.livenessProbe?.grpc, { port, service: 'liveness' }, `${component} liveness`);
      assert.ok(c.ports?.some((p) => p.containerPort === port), `${component} exposes ${port}`);
      assert.notEqual(port, c.ports?.find((p) => p.name === 'grpc')?.containerPort);
    }
  });

  test('TLS and tokens: the HESSIAN_TLS_* and tokens files are keys of the mounted Secret; mutual TLS on the workers', () => {
    const files: Record<string, Record<string, string>> = {
      coordinator: { HESSIAN_TLS_CERT: 'coordinator.crt', HESSIAN_TLS_KEY: 'coordinator.key', HESSIAN_TLS_CA: 'ca.crt', HESSIAN_API_TOKENS_FILE: 'api-tokens' },
      worker: { HESSIAN_TLS_CERT: 'worker.crt', HESSIAN_TLS_KEY: 'worker.key', HESSIAN_TLS_CA: 'ca.crt' },
    };
    for (const [component, want] of Object.entries(files)) {
      const w = workload(ws, component);
      const env = envOf(w);
      for (const [name, key] of Object.entries(want)) {
        const file = env.get(name)?.value;
        assert.equal(file, `${AUTH_DIR}/${key}`, `${component} ${name}`);
        assert.equal(secretFile(w, file), key, `${component} ${name}: ${file} is not in a hessian-auth mount`);
        assert.ok(secretKeys.includes(key), `${key} is not a key of the Secret`);
      }
      const mount = w.pod.containers[0].volumeMounts?.find((m) => m.mountPath === AUTH_DIR);
      assert.equal(mount?.readOnly, true, `${component}: ${AUTH_DIR} read-only`);
    }
    const worker = envOf(workload(ws, 'worker'));
    assert.equal(worker.get('HESSIAN_TLS_CLIENT_AUTH')?.value, 'require', 'workers require client certificates');
    // Workers are dialled by pod IP: the coordinator checks their certificate against a fixed name.
    const coordinator = envOf(workload(ws, 'coordinator'));
    assert.equal(coordinator.get('HESSIAN_TLS_SERVER_NAME')?.value, 'worker');
  });

  test('NATS requires user "hessian" and the Secret\'s password (config file, not a flag); every NATS client sends them', () => {
    const sts = one(objs, 'StatefulSet', 'nats').spec as { template: { spec: PodSpec } };
    const pod = sts.template.spec;
    const nats = pod.containers[0];
    const args = nats.args ?? [];
    assert.ok(!args.includes('--pass') && !args.includes('--user'), 'no credentials on the command line');
    const conf = args[args.indexOf('-c') + 1];
    assert.equal(conf, '/etc/nats/conf/auth.conf');
    const confMount = nats.volumeMounts?.find((m) => conf.startsWith(`${m.mountPath}/`));
    assert.equal(confMount?.readOnly, true, 'config mount read-only');
    const cmName = pod.volumes?.find((v) => v.name === confMount?.name)?.configMap?.name;
    const cm = one(objs, 'ConfigMap', cmName ?? '');
    assert.equal(cm.metadata.namespace, NS);
    const text = cm.data?.[path.basename(conf)] ?? '';
    assert.match(text, /authorization\s*\{[^}]*user:\s*hessian\b[^}]*password:\s*\$NATS_PASSWORD\b/);
    assert.deepEqual(nats.env?.find((e) => e.name === 'NATS_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'hessian-auth', key: 'nats-password' });
    for (const component of ['coordinator', 'worker', 'trainer']) {
      const env = envOf(workload(ws, component));
      assert.equal(env.get('HESSIAN_NATS_USER')?.value, 'hessian', `${component} HESSIAN_NATS_USER`);
      assert.deepEqual(env.get('HESSIAN_NATS_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'hessian-auth', key: 'nats-password', optional: false }, `${component} HESSIAN_NATS_PASSWORD`);
    }
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
      const env = envOf(w);
      assert.equal(env.get('HESSIAN_NATS_URL')?.value, 'tls://nats:4222', `${component} HESSIAN_NATS_URL`);
      const ca = env.get('HESSIAN_NATS_TLS_CA')?.value;
      assert.equal(ca, `${AUTH_DIR}/ca.crt`, `${component} HESSIAN_NATS_TLS_CA`);
      assert.equal(secretFile(w, ca), 'ca.crt', `${component}: ${ca} is not in a hessian-auth mount`);
    }
  });
});

describe('the checks can fail', () => {
  const good = (): Workload => ({
    kind: 'Deployment',
    name: 'x',
    labels: { [COMPONENT]: 'worker' },
    annotations: {},
    pod: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'c',
          image: 'hessian/worker-cpu:0.1.0',
          ports: [{ name: 'grpc', containerPort: 7071 }],
          livenessProbe: { grpc: { port: 7071, service: 'liveness' } },
          readinessProbe: { grpc: { port: 7071 } },
          resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });

  test('a conforming container passes', () => {
    assert.deepEqual(podProblems(good()), []);
  });

  for (const [what, breakIt, expect] of [
    ['no liveness probe', (w: Workload) => delete w.pod.containers[0].livenessProbe, /no livenessProbe/],
    ['an HTTP readiness probe on our service', (w: Workload) => (w.pod.containers[0].readinessProbe = { httpGet: { path: '/', port: 7071 } }), /gRPC health-checking/],
    ['a probe on a port it does not expose', (w: Workload) => (w.pod.containers[0].readinessProbe = { grpc: { port: 9999 } }), /does not expose/],
    ['no limits', (w: Workload) => delete w.pod.containers[0].resources!.limits, /limits needs cpu and memory/],
    ['an image without a tag', (w: Workload) => (w.pod.containers[0].image = 'hessian/worker-cpu'), /no tag/],
    ['an image on :latest', (w: Workload) => (w.pod.containers[0].image = 'nats:latest'), /latest/],
    ['privileged', (w: Workload) => (w.pod.containers[0].securityContext!.privileged = true), /privileged/],
    ['privilege escalation allowed', (w: Workload) => delete w.pod.containers[0].securityContext!.allowPrivilegeEscalation, /allowPrivilegeEscalation/],
    ['root allowed', (w: Workload) => delete w.pod.securityContext!.runAsNonRoot, /runAsNonRoot/],
    ['capabilities kept', (w: Workload) => (w.pod.containers[0].securityContext!.capabilities = { add: ['NET_ADMIN'] }), /capabilities/],
  ] as const) {
    test(`flags ${what}`, () => {
      const w = good();
      breakIt(w);
      const problems = podProblems(w);
      assert.ok(
        problems.some((p) => expect.test(p)),
        `expected a problem matching ${expect}, got ${JSON.stringify(problems)}`,
      );
    });
  }

  test('imageProblem accepts exact versions and digests only', () => {
    assert.equal(imageProblem('nats:2.9.25-alpine'), null);
    assert.equal(imageProblem('registry.example.com:5000/hessian/coordinator:0.1.0'), null);
    assert.equal(imageProblem(`nats@sha256:${'a'.repeat(64)}`), null);
    assert.match(imageProblem('nats:2.9-alpine') ?? '', /not an exact version/);
    assert.match(imageProblem('registry.example.com:5000/hessian/coordinator') ?? '', /no tag/);
  });

  test('schema validation rejects a malformed object', () => {
    const bad: K8sObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bad' },
      spec: { selector: {}, template: { spec: { containers: [{ name: 'c', image: 'x:1.0.0', resources: { limits: { cpu: { many: true } } } }] } } },
    };
    assert.equal(schemaProblems(bad).length, 1);
    assert.equal(schemaProblems({ ...bad, kind: 'Gadget' }).length, 1);
  });

  test('a NetworkPolicy that admits everyone to the workers is caught', () => {
    const worker: Target = { labels: { [COMPONENT]: 'worker' }, ports: [{ name: 'grpc', containerPort: 7071 }] };
    const outside: Source = { labels: {}, namespace: { 'kubernetes.io/metadata.name': 'default' } };
    const deny = { name: 'deny', spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    assert.equal(ingressAllowed([deny], worker, 7071, outside, NS_LABELS), false);
    const open = { name: 'open', spec: { podSelector: { matchLabels: { [COMPONENT]: 'worker' } }, ingress: [{ ports: [{ port: 'grpc' }] }] } };
    assert.equal(ingressAllowed([deny, open], worker, 7071, outside, NS_LABELS), true);
    // No policy at all: everything is admitted (which is why default-deny must exist).
    assert.equal(ingressAllowed([], worker, 7071, outside, NS_LABELS), true);
    assert.deepEqual(containerProblems({ kind: 'Job', name: 'j', labels: {}, annotations: {}, pod: { containers: [] } }, { name: 'c', image: 'hessian/trainer:0.1.0' }).length > 0, true);
  });
});
