/**
 * The Kubernetes manifests (k8s/): every overlay rendered with `kubectl kustomize`, every
 * object validated against the Kubernetes schemas (kubernetes-models), every container
 * checked (probes, resources, pinned image, no privilege), the NetworkPolicies checked by
 * what they let through, and the ConfigMaps against the variables the services' READMEs list.
 * The secure overlays: k8s-secure.test.ts; authenticated internals (every overlay):
 * k8s-internal-auth.test.ts; broken objects fed to the same checks: k8s-checks.test.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { NS, NS_LABELS, COMPONENT, HEALTH_PORTS, byKind, one, workload, policies, selected, README, readText, readmeVariables, envOf, mountOf } from './k8s-helpers.js';
import { ingressAllowed, kubectlOrFail, missingVariables, OVERLAYS, podProblems, renderOverlay, schemaProblems, trainSpecFieldsOf, trainSpecProblems, workloads, type K8sObject, type LabelSelector, type Source, type Target, type Workload } from './lib.js';

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
