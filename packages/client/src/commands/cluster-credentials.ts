/**
 * `hessctl cluster credentials`: the internal credentials of a cluster (NATS password per role,
 * the workers' cluster secret) for deployments that do not run `cluster up`. `--dir` writes the
 * files `cluster up` uses (DIR/auth; compose runs this as its one-shot `credentials` service);
 * `--k8s` prints the Kubernetes Secret `hessian-internal` the manifests in k8s/ read.
 */
import { UserError } from '@hessian/linalg';
import { newSecret, NATS_ROLES } from '@hessian/wire';
import { chownSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseFlags, type Command } from '../flags.js';
import { ensureClusterAuth } from './cluster-auth.js';
import { CLUSTER_DIR_FLAG, CLUSTER_HELP_FLAG } from './cluster-up.js';

export const clusterCredentialsCommand: Command = {
  name: 'cluster credentials',
  summary: 'make the internal credentials (NATS users per role, the workers\' cluster secret): files in DIR/auth, or a Kubernetes Secret',
  usage: 'hessctl cluster credentials [--dir DIR] [--chown UID:GID]      hessctl cluster credentials --k8s [--namespace NS] | kubectl apply -f -',
  flags: [
    CLUSTER_DIR_FLAG,
    { name: 'chown', type: 'string', arg: 'UID:GID', help: 'give the files to this numeric owner (a container writing them as root for services running as another user)' },
    { name: 'k8s', type: 'boolean', help: 'print the Secret hessian-internal (fresh random values) instead of writing files' },
    { name: 'namespace', type: 'string', arg: 'NS', default: 'hessian', help: 'namespace of the printed Secret' },
    CLUSTER_HELP_FLAG,
  ],
  examples: ['hessctl cluster credentials --k8s | kubectl apply -f -', 'hessctl cluster credentials --dir /secrets --chown 10001:10001'],
};

/** The Secret k8s/base reads: `<role>-password` per NATS role and `cluster-secret`. */
export function internalSecretManifest(namespace: string): string {
  const keys = [...NATS_ROLES.map((r) => `${r}-password`), 'cluster-secret'];
  return ['apiVersion: v1', 'kind: Secret', 'metadata:', '  name: hessian-internal', `  namespace: ${namespace}`, 'type: Opaque', 'stringData:', ...keys.map((k) => `  ${k}: "${newSecret()}"`), ''].join('\n');
}

export function clusterCredentials(argv: string[]): number {
  const { values } = parseFlags(clusterCredentialsCommand, argv);
  if (values.k8s === true) {
    const ns = String(values.namespace);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) throw new UserError(`--namespace: ${JSON.stringify(ns)} is not a Kubernetes namespace name (lower-case letters, digits and -)`);
    process.stdout.write(internalSecretManifest(ns));
    return 0;
  }
  const auth = ensureClusterAuth(resolve(String(values.dir)));
  if (typeof values.chown === 'string') {
    const m = /^(\d+):(\d+)$/.exec(values.chown.trim());
    if (!m) throw new UserError(`--chown: give a numeric UID:GID such as 10001:10001, got ${JSON.stringify(values.chown)}`);
    for (const p of [auth.dir, ...readdirSync(auth.dir).map((f) => join(auth.dir, f))]) chownSync(p, Number(m[1]), Number(m[2]));
  }
  process.stdout.write(`credentials in ${auth.dir}: nats.conf (nats-server -c), ${NATS_ROLES.map((r) => `${r}.password`).join(', ')}, cluster-secret\n`);
  return 0;
}
