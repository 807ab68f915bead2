/**
 * Helpers of the deployment checks: rendering the kustomize overlays with kubectl, schema
 * validation with kubernetes-models, the per-container rules, and NetworkPolicy semantics
 * (which policies select a pod, whether a source may reach a pod's port).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';

/** The repository root (deploy/dist/test -> ../../..). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const OVERLAYS = ['cpu', 'gpu', 'secure', 'secure-gpu'] as const;

// ---- loose shapes of what we read from the rendered YAML ------------------------------------

export type Labels = Record<string, string>;
export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}
export interface Probe {
  grpc?: { port: number; service?: string };
  httpGet?: { path?: string; port: number | string; scheme?: string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}
export interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}
export interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: SecurityContext;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: {
    name: string;
    secret?: { secretName: string; items?: { key: string; path: string }[] };
    configMap?: { name: string; items?: { key: string; path: string }[] };
    persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
    emptyDir?: { sizeLimit?: string };
  }[];
  restartPolicy?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext & { seccompProfile?: { type: string } };
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  nodeSelector?: Labels;
  tolerations?: { key?: string; operator?: string; effect?: string }[];
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}
export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: string[];
  ingress?: { from?: PolicyPeer[]; ports?: { protocol?: string; port?: number | string }[] }[];
}

// ---- rendering ---------------------------------------------------------------------------

/** Fails (never skips) when kubectl is missing: CI must have it. */
export function kubectlOrFail(): void {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      'kubectl is needed to render the kustomize overlays (k8s/overlays/*) and was not found or does not run' +
        ` (${r.error?.message ?? r.stderr.trim()}). Install kubectl >= 1.27 (kustomize is built in): https://kubernetes.io/docs/tasks/tools/`,
    );
  }
}

export function renderOverlay(name: string): K8sObject[] {
  const r = spawnSync('kubectl', ['kustomize', `k8s/overlays/${name}`], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) throw new Error(`kubectl kustomize k8s/overlays/${name} failed: ${r.error?.message ?? r.stderr}`);
  return parseYamlDocs(r.stdout);
}

export function parseYamlDocs(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) throw new Error(`YAML: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS() as K8sObject | null;
    if (v) out.push(v);
  }
  return out;
}

// ---- schema validation ---------------------------------------------------------------------

interface Validatable {
  validate(): void;
}
type ModelCtor = new (data: never) => Validatable;
const MODELS: Record<string, ModelCtor> = {
  'v1/Namespace': Namespace as unknown as ModelCtor,
  'v1/ConfigMap': ConfigMap as unknown as ModelCtor,
  'v1/Secret': Secret as unknown as ModelCtor,
  'v1/Service': Service as unknown as ModelCtor,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as unknown as ModelCtor,
  'apps/v1/Deployment': Deployment as unknown as ModelCtor,
  'apps/v1/StatefulSet': StatefulSet as unknown as ModelCtor,
  'batch/v1/Job': Job as unknown as ModelCtor,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as unknown as ModelCtor,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as ModelCtor,
};

/** Validates one object against the Kubernetes OpenAPI schema of its kind; returns the problems. */
export function schemaProblems(o: K8sObject): string[] {
  const Ctor = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Ctor) return [`${o.apiVersion}/${o.kind} ${o.metadata?.name}: no schema model registered in deploy/test/lib.ts (add it)`];
  try {
    new Ctor(o as never).validate();
    return [];
  } catch (e) {
    return [`${o.kind}/${o.metadata?.name}: ${e instanceof Error ? e.message : String(e)}`];
  }
}

// ---- workloads and containers --------------------------------------------------------------

export interface Workload {
  kind: string;
  name: string;
  labels: Labels;
  annotations: Record<string, string>;
  pod: PodSpec;
}

export function workloads(objs: K8sObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objs) {
    if (!['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(o.kind)) continue;
    const tpl = (o.spec as { template: { metadata?: { labels?: Labels; annotations?: Record<string, string> }; spec: PodSpec } }).template;
    out.push({ kind: o.kind, name: o.metadata.name, labels: tpl.metadata?.labels ?? {}, annotations: tpl.metadata?.annotations ?? {}, pod: tpl.spec });
  }
  return out;
}

/** Our own images (the services); they must use gRPC health probes. */
export const OWN_IMAGE = /^hessian\//;

/** An exact version tag (1.2.3..., not "latest", not "1.2") or a digest. */
export function imageProblem(image: string | undefined): string | null {
  if (!image) return 'no image';
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return null;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon <= slash) return `image ${image} has no tag (means :latest)`;
  const tag = image.slice(colon + 1);
  if (tag === 'latest') return `image ${image} uses :latest`;
  if (!/^v?\d+\.\d+\.\d+/.test(tag)) return `image ${image}: tag ${tag} is not an exact version (MAJOR.MINOR.PATCH...)`;
  return null;
}

function hasCpuMem(r: Record<string, string | number> | undefined): boolean {
  return !!r && r['cpu'] !== undefined && r['memory'] !== undefined;
}

/** Every rule a container must follow; returns the broken ones (empty = fine). */
export function containerProblems(w: Workload, c: Container): string[] {
  const p: string[] = [];
  const where = `${w.kind}/${w.name} container ${c.name}`;
  const img = imageProblem(c.image);
  if (img) p.push(`${where}: ${img}`);
  if (!hasCpuMem(c.resources?.requests)) p.push(`${where}: resources.requests needs cpu and memory`);
  if (!hasCpuMem(c.resources?.limits)) p.push(`${where}: resources.limits needs cpu and memory`);
  // Probes: every long-running container; a Job's container is a batch process (it ends; the
  // Job controller tracks it), so it has none.
  if (w.kind !== 'Job') {
    if (!c.livenessProbe) p.push(`${where}: no livenessProbe`);
    if (!c.readinessProbe) p.push(`${where}: no readinessProbe`);
    if (OWN_IMAGE.test(c.image ?? '')) {
      const ports = new Set((c.ports ?? []).map((x) => x.containerPort));
      for (const [k, probe] of [['livenessProbe', c.livenessProbe], ['readinessProbe', c.readinessProbe]] as const) {
        if (probe && !probe.grpc) p.push(`${where}: ${k} must use the gRPC health-checking protocol (grpc:)`);
        else if (probe?.grpc && !ports.has(probe.grpc.port)) p.push(`${where}: ${k} probes port ${probe.grpc.port}, which the container does not expose`);
      }
    }
  }
  const sc = c.securityContext ?? {};
  const psc = w.pod.securityContext ?? {};
  if (sc.privileged === true) p.push(`${where}: privileged`);
  if (sc.allowPrivilegeEscalation !== false) p.push(`${where}: allowPrivilegeEscalation must be false`);
  if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) p.push(`${where}: runAsNonRoot must be true`);
  if ((sc.runAsUser ?? psc.runAsUser) === 0) p.push(`${where}: runs as uid 0`);
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) p.push(`${where}: capabilities.drop must include ALL`);
  if ((sc.capabilities?.add ?? []).length > 0) p.push(`${where}: adds capabilities ${sc.capabilities?.add?.join(',')}`);
  if (sc.readOnlyRootFilesystem !== true) p.push(`${where}: readOnlyRootFilesystem must be true (mount an emptyDir for caches)`);
  return p;
}

export function podProblems(w: Workload): string[] {
  const p: string[] = [];
  if (w.pod.hostNetwork || w.pod.hostPID || w.pod.hostIPC) p.push(`${w.kind}/${w.name}: uses host namespaces`);
  if (w.pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault') p.push(`${w.kind}/${w.name}: pod seccompProfile must be RuntimeDefault (restricted Pod Security Standard)`);
  for (const c of [...(w.pod.initContainers ?? []), ...w.pod.containers]) p.push(...containerProblems(w, c));
  return p;
}

// ---- selectors and NetworkPolicy semantics ---------------------------------------------------

export function matches(sel: LabelSelector | undefined, labels: Labels): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** A source of traffic: a pod's labels and its namespace's labels. */
export interface Source {
  labels: Labels;
  namespace: Labels;
}
/** A pod that policies may protect. */
export interface Target {
  labels: Labels;
  ports: { name?: string; containerPort: number }[];
}

function peerMatches(peer: PolicyPeer, src: Source, ownNamespace: Labels): boolean {
  if (peer.ipBlock) return false; // not used here; pods are matched by selectors
  const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector, src.namespace) : src.namespace === ownNamespace || sameLabels(src.namespace, ownNamespace);
  const podOk = peer.podSelector ? matches(peer.podSelector, src.labels) : true;
  return nsOk && podOk;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * May `src` open a TCP connection to `port` of `target`? Kubernetes semantics: a pod selected
 * by no Ingress policy accepts everything; otherwise the union of the selecting policies'
 * rules decides (a rule without `from` admits every source, without `ports` every port; a
 * named port is resolved against the target's container ports).
 */
export function ingressAllowed(policies: { name: string; spec: NetworkPolicySpec }[], target: Target, port: number, src: Source, ownNamespace: Labels): boolean {
  const selecting = policies.filter((p) => matches(p.spec.podSelector, target.labels) && (p.spec.policyTypes ?? ['Ingress']).includes('Ingress'));
  if (selecting.length === 0) return true;
  for (const p of selecting) {
    for (const rule of p.spec.ingress ?? []) {
      const fromOk = !rule.from || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, src, ownNamespace));
      const portOk =
        !rule.ports ||
        rule.ports.length === 0 ||
        rule.ports.some((rp) => (rp.protocol ?? 'TCP') === 'TCP' && (rp.port === undefined || rp.port === port || target.ports.some((cp) => cp.name === rp.port && cp.containerPort === port)));
      if (fromOk && portOk) return true;
    }
  }
  return false;
}

// ---- the services' READMEs -------------------------------------------------------------------

/**
 * The HESSIAN_* variables of a README's "## Environment" table: every variable named in a
 * row's first cell. A cell may abbreviate: "`HESSIAN_NATS_USER` / `_PASSWORD` / `_TLS_*`" means
 * HESSIAN_NATS_USER, HESSIAN_NATS_PASSWORD and every HESSIAN_NATS_TLS_* variable that `known`
 * (the other READMEs' variables) lists; a wildcard that matches none is an error.
 */
export function readmeVariablesOf(text: string, known: readonly string[] = []): string[] {
  const start = text.indexOf('## Environment');
  if (start < 0) throw new Error('no "## Environment" section');
  const next = text.indexOf('\n## ', start + 1);
  const env = text.slice(start, next < 0 ? undefined : next);
  const out = new Set<string>();
  for (const row of env.matchAll(/^\|([^|\n]*)\|/gm)) {
    const tokens = [...row[1].matchAll(/`([^`]+)`/g)].map((m) => m[1].trim());
    const first = tokens.find((t) => /^HESSIAN_[A-Z0-9_]+$/.test(t));
    if (!first) continue;
    const stem = first.replace(/_[A-Z0-9]+$/, '');
    for (const t of tokens) {
      const full = t.startsWith('_') ? stem + t : t;
      if (full.endsWith('*')) {
        const prefix = full.slice(0, -1);
        const hits = known.filter((k) => k.startsWith(prefix));
        if (hits.length === 0) throw new Error(`${t}: no known variable starts with ${prefix}`);
        hits.forEach((h) => out.add(h));
      } else if (/^HESSIAN_[A-Z0-9_]+$/.test(full)) out.add(full);
    }
  }
  return [...out];
}

/** The variables of `vars` that `have` lacks (the ConfigMap-coverage check). */
export function missingVariables(vars: readonly string[], have: ReadonlySet<string>): string[] {
  return vars.filter((v) => !have.has(v));
}

/**
 * The TrainSpec fields the trainer's README documents in its HESSIAN_TRAIN_SPEC row
 * ("`model`, `data`, ..., `htr: {gamma, probes, ...}`"): top-level names and htr's names.
 */
export function trainSpecFieldsOf(readme: string): { top: string[]; htr: string[] } {
  const row = readme.split('\n').find((l) => l.startsWith('| `HESSIAN_TRAIN_SPEC`'));
  if (!row) throw new Error('no HESSIAN_TRAIN_SPEC row');
  const top: string[] = [];
  let htr: string[] = [];
  for (const m of row.matchAll(/`([^`]+)`/g)) {
    const t = m[1];
    const nested = /^(\w+):\s*\{([^}]*)\}$/.exec(t);
    if (nested) {
      top.push(nested[1]);
      if (nested[1] === 'htr') htr = nested[2].split(',').map((x) => x.trim());
    } else if (/^[a-z][A-Za-z]*$/.test(t) && t !== 'normalizeTrainSpec') top.push(t);
  }
  return { top, htr };
}

/** What is wrong with a TrainSpec JSON object against the documented fields (unknown names are silently ignored by normalizeTrainSpec, so a typo would fall back to a default). */
export function trainSpecProblems(spec: unknown, fields: { top: string[]; htr: string[] }): string[] {
  const p: string[] = [];
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return ['not a JSON object'];
  const o = spec as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!fields.top.includes(k)) p.push(`unknown field ${k}`);
  if (typeof o['model'] !== 'string' || o['model'] === '') p.push('model is required');
  if (o['htr'] !== undefined) {
    if (typeof o['htr'] !== 'object' || o['htr'] === null) p.push('htr is not an object');
    else for (const k of Object.keys(o['htr'])) if (!fields.htr.includes(k)) p.push(`unknown field htr.${k}`);
  }
  return p;
}
