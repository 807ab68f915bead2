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
  missingVariables,
  OVERLAYS,
  podProblems,
  readmeVariablesOf,
  renderOverlay,
  ROOT,
  schemaProblems,
  trainSpecFieldsOf,
  trainSpecProblems,
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
const README = {
  coordinator: 'services/coordinator/README.md',
  worker: 'services/worker/README.md',
  trainer: 'services/trainer/README.md',
} as const;
const readText = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
/**
 * The HESSIAN_* variables in the Environment table of a service's README. Abbreviations such
 * as the trainer's "`HESSIAN_NATS_USER` / `_PASSWORD` / `_TOKEN` / `_TLS_*`" expand against the
 * coordinator's and workers' variables (lib.ts, readmeVariablesOf).
 */
function readmeVariables(service: keyof typeof README): string[] {
  const known = [...readmeVariablesOf(readText(README.coordinator)), ...readmeVariablesOf(readText(README.worker))];
  return readmeVariablesOf(readText(README[service]), known);
}
/** A container's environment as the pod sees it: its ConfigMaps (envFrom) overlaid with env. */
function envOf(objs: K8sObject[], w: Workload): Map<string, NonNullable<Container['env']>[number]> {
  const c = w.pod.containers[0];
  const env = new Map<string, NonNullable<Container['env']>[number]>();
  for (const ef of c.envFrom ?? []) {
    const cm = byKind(objs, 'ConfigMap').find((x) => x.metadata.name === ef.configMapRef?.name);
    for (const [name, value] of Object.entries(cm?.data ?? {})) env.set(name, { name, value });
  }
  for (const e of c.env ?? []) env.set(e.name, e);
  return env;
}
/** The volume mounted at the longest mount path that contains `file`, and the path inside it. */
function mountOf(w: Workload, file: string): { mount: NonNullable<Container['volumeMounts']>[number]; volume: NonNullable<PodSpec['volumes']>[number] | undefined; rel: string } | undefined {
  const c = w.pod.containers[0];
  const m = (c.volumeMounts ?? [])
    .filter((x) => file === x.mountPath || file.startsWith(`${x.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!m) return undefined;
  return { mount: m, volume: w.pod.volumes?.find((v) => v.name === m.name), rel: file.slice(m.mountPath.length).replace(/^\//, '') };
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
        ['PersistentVolumeClaim', 'trainer-runs'],
        ['PodDisruptionBudget', 'worker'],
        ...(secure ? [] : [['Secret', 'hessian-auth']]),
        ['ConfigMap', 'hessian-common'],
        ['ConfigMap', 'hessian-coordinator'],
        ['ConfigMap', 'hessian-worker'],
        ['ConfigMap', 'hessian-trainer'],
        ['ConfigMap', 'trainer-spec'],
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
      for (const component of ['coordinator', 'worker', 'trainer'] as const) {
        const vars = readmeVariables(component);
        assert.ok(vars.length >= 5, `${README[component]}: found ${vars.length} variables`);
        const have = keysOf(workload(ws, component));
        assert.deepEqual(missingVariables(vars, have), [], `${component}: variables of ${README[component]} not set`);
      }
      // The trainer's abbreviated rows were expanded (not just their first name).
      const trainer = readmeVariables('trainer');
      for (const v of ['HESSIAN_TLS_CERT', 'HESSIAN_TLS_KEY', 'HESSIAN_TLS_SERVER_NAME', 'HESSIAN_NATS_PASSWORD', 'HESSIAN_NATS_TOKEN', 'HESSIAN_NATS_TLS_KEY', 'HESSIAN_TRAIN_RUN_DIR'])
        assert.ok(trainer.includes(v), `${README.trainer}: ${v} not parsed`);
      // The trainer loads fashion-mnist:* itself (test evaluation, the training set's size), as
      // the workers do: both point at the folder their image carries (deploy/Dockerfile.*).
      for (const component of ['worker', 'trainer']) assert.equal(envOf(objs, workload(ws, component)).get('HESSIAN_FASHION_MNIST')?.value, '/usr/share/datasets/fashion-mnist', component);
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

    test('trainer: runs the image entrypoint (services/trainer main), env from hessian-common + hessian-trainer, finds workers by NATS, serves nothing', () => {
      const w = workload(ws, 'trainer');
      const c = w.pod.containers[0];
      assert.equal(w.pod.containers.length, 1);
      assert.match(c.image ?? '', /^hessian\/trainer:/);
      // No command/args: the image's ENTRYPOINT, node /app/services/trainer/dist/src/main.js
      // (images.test.ts checks it), configured by the environment only.
      assert.equal(c.command, undefined, 'command');
      assert.equal(c.args, undefined, 'args (the old hessctl-train flags)');
      assert.deepEqual(
        (c.envFrom ?? []).map((e) => e.configMapRef?.name),
        ['hessian-common', 'hessian-trainer'],
      );
      const env = envOf(objs, w);
      assert.equal(env.get('HESSIAN_TRAINER_WORKERS')?.value, '', 'workers from NATS heartbeats (pod IPs change)');
      assert.match(env.get('HESSIAN_NATS_URL')?.value ?? '', /^(nats|tls):\/\/nats:4222$/);
      assert.equal(env.get('HESSIAN_BACKEND')?.value, 'native', 'the trainer image has the native backend only');
      assert.deepEqual(c.ports ?? [], [], 'no ports');
      assert.equal(c.livenessProbe ?? c.readinessProbe, undefined, 'a batch process: no probes');
    });

    test('trainer: run folder on the PVC at HESSIAN_TRAIN_RUN_DIR; crash -> new pod that resumes, user error -> Job failed, eviction not counted', () => {
      const job = one(objs, 'Job', 'trainer').spec as {
        backoffLimit?: number;
        parallelism?: number;
        completions?: number;
        podReplacementPolicy?: string;
        podFailurePolicy?: { rules: { action: string; onExitCodes?: { containerName?: string; operator: string; values: number[] }; onPodConditions?: { type: string }[] }[] };
      };
      const w = workload(ws, 'trainer');
      const runDir = envOf(objs, w).get('HESSIAN_TRAIN_RUN_DIR')?.value ?? '';
      assert.match(runDir, /^\/\S+/, 'HESSIAN_TRAIN_RUN_DIR is an absolute path');
      const m = mountOf(w, runDir);
      assert.ok(m, `${runDir} is on no volume`);
      assert.notEqual(m.mount.readOnly, true, 'the run folder is writable');
      const claim = m.volume?.persistentVolumeClaim?.claimName;
      assert.ok(claim, `${runDir} is on volume ${m.mount.name}, not a PersistentVolumeClaim (a rescheduled pod would start over)`);
      const pvc = one(objs, 'PersistentVolumeClaim', claim).spec as { accessModes: string[]; resources: { requests: { storage: string } } };
      assert.ok(pvc.resources.requests.storage, 'the claim requests storage');
      assert.notEqual(m.rel, '', 'the run is a subfolder of the claim (one per Job)');
      // Retries resume; exit 2 (bad spec, NaN stop, no worker) is final; disruptions are free.
      assert.equal(w.pod.restartPolicy, 'Never');
      assert.equal(job.parallelism ?? 1, 1);
      assert.equal(job.completions ?? 1, 1);
      assert.ok((job.backoffLimit ?? 6) >= 1, 'crashes are retried');
      const rules = job.podFailurePolicy?.rules ?? [];
      const fail = rules.find((r) => r.action === 'FailJob');
      assert.deepEqual(fail?.onExitCodes, { containerName: 'trainer', operator: 'In', values: [2] });
      assert.ok(
        rules.some((r) => r.action === 'Ignore' && r.onPodConditions?.some((x) => x.type === 'DisruptionTarget')),
        'DisruptionTarget ignored',
      );
      assert.ok(!rules.some((r) => r.onExitCodes?.values.includes(1) || r.onExitCodes?.values.includes(137)), 'crashes and OOM kills are not final');
      assert.equal(job.podReplacementPolicy, 'Failed', 'never two trainers on one run folder');
      // The trainer's only other writable place: /tmp (read-only root file system).
      assert.equal(mountOf(w, '/tmp/x')?.volume?.emptyDir !== undefined, true);
    });

    test('trainer: the TrainSpec is a ConfigMap file mounted read-only at HESSIAN_TRAIN_SPEC; its fields are the documented ones (lenet, Fashion-MNIST, HTR on middle layers)', () => {
      const w = workload(ws, 'trainer');
      const file = envOf(objs, w).get('HESSIAN_TRAIN_SPEC')?.value ?? '';
      const m = mountOf(w, file);
      assert.ok(m, `${file} is on no volume`);
      assert.equal(m.mount.readOnly, true, 'spec mount read-only');
      const cmName = m.volume?.configMap?.name;
      assert.ok(cmName, `${file} is not in a ConfigMap volume`);
      const key = m.volume?.configMap?.items ? m.volume.configMap.items.find((i) => i.path === m.rel)?.key : m.rel;
      const cm = one(objs, 'ConfigMap', cmName);
      assert.equal(cm.metadata.namespace, NS);
      const text = cm.data?.[key ?? ''];
      assert.ok(text, `ConfigMap ${cmName} has no key ${key}`);
      const spec = JSON.parse(text) as { model: string; data: string; testData: string; htr: { gamma: number; layers: string } };
      assert.deepEqual(trainSpecProblems(spec, trainSpecFieldsOf(readText(README.trainer))), []);
      assert.equal(spec.model, 'zoo:lenet');
      assert.equal(spec.data, 'fashion-mnist:train');
      assert.equal(spec.testData, 'fashion-mnist:test');
      assert.equal(spec.htr.layers, 'middle');
      assert.ok(spec.htr.gamma > 0, 'HTR on');
      // The same file as k8s/base/trainer-spec.json (compose mounts that one).
      assert.deepEqual(spec, JSON.parse(readText('k8s/base/trainer-spec.json')));
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
      // The trainer dials the workers' gRPC port and NATS' client port (above) and nothing else
      // of the cluster but the coordinator's API, which everyone may reach.
      assert.equal(can(pod('trainer'), 'worker', 9465), false);
      assert.equal(can(pod('trainer'), 'nats', 8222), false);
      assert.equal(can(pod('trainer'), 'coordinator', 9464), false);
      // Nobody reaches the trainer (it serves nothing: no port, no Service), on any port.
      for (const s of [outside, pod('coordinator'), pod('worker'), pod('nats'), other, monitoring])
        for (const port of [7070, 7071, 7080, 7081, 9464, 9465, 4222, 8222, 8080]) assert.equal(can(s, 'trainer', port), false, `trainer:${port}`);
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
      const env = envIn(workload(ws, component));
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
      const env = envOf(objs, w);
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

  test('a README variable missing from the ConfigMaps is caught, abbreviated rows included', () => {
    const readme = [
      '## Environment',
      '',
      '| variable | default | meaning |',
      '|---|---|---|',
      '| `HESSIAN_A` | `1` | a |',
      '| `HESSIAN_TLS_CA`, `HESSIAN_TLS_CERT` | unset | b |',
      '| `HESSIAN_NATS_USER` / `_PASSWORD` / `_TLS_*` | unset | c |',
      '',
      '## Next',
      '| `HESSIAN_NOT_IN_THE_TABLE` | | |',
    ].join('\n');
    const vars = readmeVariablesOf(readme, ['HESSIAN_NATS_TLS_CA', 'HESSIAN_NATS_TLS_KEY', 'HESSIAN_OTHER']);
    assert.deepEqual([...vars].sort(), ['HESSIAN_A', 'HESSIAN_NATS_PASSWORD', 'HESSIAN_NATS_TLS_CA', 'HESSIAN_NATS_TLS_KEY', 'HESSIAN_NATS_USER', 'HESSIAN_TLS_CA', 'HESSIAN_TLS_CERT']);
    const have = new Set(vars.filter((v) => v !== 'HESSIAN_TLS_CERT' && v !== 'HESSIAN_NATS_PASSWORD'));
    assert.deepEqual(missingVariables(vars, have), ['HESSIAN_TLS_CERT', 'HESSIAN_NATS_PASSWORD']);
    assert.throws(() => readmeVariablesOf(readme, []), /_TLS_\*/, 'a wildcard that expands to nothing');
  });

  test('a TrainSpec with a misspelled field (which normalizeTrainSpec would silently ignore) is caught', () => {
    const fields = trainSpecFieldsOf(readText(README.trainer));
    assert.ok(fields.top.includes('batchSize') && fields.top.includes('htr') && fields.htr.includes('layers'), JSON.stringify(fields));
    assert.deepEqual(trainSpecProblems({ model: 'zoo:lenet', htr: { layers: 'middle' } }, fields), []);
    assert.deepEqual(trainSpecProblems({ model: 'zoo:lenet', epoch: 3, htr: { layer: 'middle' } }, fields), ['unknown field epoch', 'unknown field htr.layer']);
    assert.deepEqual(trainSpecProblems({ data: 'fashion-mnist:train' }, fields), ['model is required']);
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
