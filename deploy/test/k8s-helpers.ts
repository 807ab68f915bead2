/**
 * What the k8s tests share: the rendered objects looked up by kind and name, workloads by
 * component, the NetworkPolicies, a container's environment as the pod sees it, the volume
 * behind a file path, and the variables the services' READMEs list.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { matches, readmeVariablesOf, ROOT, type Container, type K8sObject, type LabelSelector, type NetworkPolicySpec, type PodSpec, type Workload } from './lib.js';

export const NS = 'hessian';
export const NS_LABELS = { 'kubernetes.io/metadata.name': NS };
export const COMPONENT = 'app.kubernetes.io/component';
/** k8s/overlays/secure: HESSIAN_HEALTH_PORT of each service (the probes' port there). */
export const HEALTH_PORTS = { coordinator: 7080, worker: 7081 } as const;
export const AUTH_DIR = '/etc/hessian/auth';

export function byKind(objs: K8sObject[], kind: string): K8sObject[] {
  return objs.filter((o) => o.kind === kind);
}
export function one(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is missing from the rendered overlay`);
  return o;
}
export function workload(ws: Workload[], component: string): Workload {
  const w = ws.find((x) => x.labels[COMPONENT] === component);
  assert.ok(w, `no workload with ${COMPONENT}=${component}`);
  return w;
}
export function policies(objs: K8sObject[]): { name: string; spec: NetworkPolicySpec }[] {
  return byKind(objs, 'NetworkPolicy').map((o) => ({ name: o.metadata.name, spec: o.spec as unknown as NetworkPolicySpec }));
}
/** Names of the workloads whose pods the selector selects. */
export function selected(sel: LabelSelector | undefined, ws: Workload[]): string[] {
  return ws
    .filter((w) => matches(sel, w.labels))
    .map((w) => w.labels[COMPONENT])
    .sort();
}
export const README = {
  coordinator: 'services/coordinator/README.md',
  worker: 'services/worker/README.md',
  trainer: 'services/trainer/README.md',
} as const;
export const readText = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
/**
 * The HESSIAN_* variables in the Environment table of a service's README. Abbreviations such
 * as the trainer's "`HESSIAN_NATS_USER` / `_PASSWORD` / `_TOKEN` / `_TLS_*`" expand against the
 * coordinator's and workers' variables (lib.ts, readmeVariablesOf).
 */
export function readmeVariables(service: keyof typeof README): string[] {
  const known = [...readmeVariablesOf(readText(README.coordinator)), ...readmeVariablesOf(readText(README.worker))];
  return readmeVariablesOf(readText(README[service]), known);
}
/** A container's environment as the pod sees it: its ConfigMaps (envFrom) overlaid with env. */
export function envOf(objs: K8sObject[], w: Workload): Map<string, NonNullable<Container['env']>[number]> {
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
export function mountOf(w: Workload, file: string): { mount: NonNullable<Container['volumeMounts']>[number]; volume: NonNullable<PodSpec['volumes']>[number] | undefined; rel: string } | undefined {
  const c = w.pod.containers[0];
  const m = (c.volumeMounts ?? [])
    .filter((x) => file === x.mountPath || file.startsWith(`${x.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!m) return undefined;
  return { mount: m, volume: w.pod.volumes?.find((v) => v.name === m.name), rel: file.slice(m.mountPath.length).replace(/^\//, '') };
}
