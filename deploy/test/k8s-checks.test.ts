/**
 * The checks of the k8s tests (lib.ts) fed deliberately broken objects, to show each one can
 * fail: a container without probes or limits, an unpinned image, a malformed object, a README
 * variable missing from the ConfigMaps, a misspelled TrainSpec field, an open NetworkPolicy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NS_LABELS, COMPONENT, README, readText } from './k8s-helpers.js';
import { containerProblems, imageProblem, ingressAllowed, missingVariables, podProblems, readmeVariablesOf, schemaProblems, trainSpecFieldsOf, trainSpecProblems, type K8sObject, type Source, type Target, type Workload } from './lib.js';

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
