/**
 * Authenticated internals: who may say what on NATS, and who may call a worker.
 *
 * NATS: one user per role with the least subjects it needs (nats-server 2.9 `authorization
 * { users = [...] }` with publish/subscribe permissions). Only the coordinator may publish job
 * subjects (cancels, events) and write JetStream state; workers may publish heartbeats, hear
 * cancels and read the model object store; the trainer may only hear heartbeats. An
 * unauthenticated client cannot connect at all, and a permission violation is refused and
 * logged by nats-server, so a forged cancel or heartbeat changes nothing.
 *
 * Workers' gRPC port: a cluster secret (HESSIAN_CLUSTER_SECRET[_FILE]) sent by the coordinator
 * and the trainer as metadata; a call without it is UNAUTHENTICATED. Mutual TLS is the other
 * way (security.ts). Results come back on those authenticated calls, from workers that
 * registered by an authenticated heartbeat.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BUCKETS, SUBJECTS } from './service.js';

export const NATS_ROLES = ['coordinator', 'worker', 'trainer'] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

export interface NatsPermissions {
  publish: { allow?: string[]; deny?: string[] };
  subscribe: { allow?: string[]; deny?: string[] };
}

/** JetStream API subjects a worker needs to read one object of the model store (nats.js 2.29 ObjectStore.get on nats-server 2.9). */
function objectStoreReader(bucket: string): string[] {
  const s = `OBJ_${bucket}`;
  return [
    '$JS.API.INFO',
    // js.subscribe finds the stream of the chunk subject by name lookup (names only, no contents)
    '$JS.API.STREAM.NAMES',
    `$JS.API.STREAM.INFO.${s}`,
    `$JS.API.STREAM.MSG.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}.>`,
    `$JS.API.CONSUMER.CREATE.${s}`,
    `$JS.API.CONSUMER.CREATE.${s}.>`,
    `$JS.API.CONSUMER.INFO.${s}.>`,
    `$JS.API.CONSUMER.DELETE.${s}.>`,
    // flow-control replies of the ordered consumer that streams the chunks
    `$JS.FC.${s}.>`,
  ];
}

/** What each role may publish and subscribe to. */
export function natsPermissions(role: NatsRole): NatsPermissions {
  switch (role) {
    case 'coordinator':
      // Owns the JetStream state (KV, object stores, the events stream) and every job subject.
      return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
    case 'worker':
      return {
        publish: { allow: [SUBJECTS.heartbeat, ...objectStoreReader(BUCKETS.models)] },
        subscribe: { allow: [SUBJECTS.allCancels, '_INBOX.>'] },
      };
    case 'trainer':
      return { publish: { deny: ['>'] }, subscribe: { allow: [SUBJECTS.heartbeat] } };
  }
}

const confString = (s: string) => JSON.stringify(s);
const confList = (l: string[]) => `[${l.map(confString).join(', ')}]`;
const confRule = (r: { allow?: string[]; deny?: string[] }) => `{ ${[r.allow ? `allow: ${confList(r.allow)}` : '', r.deny ? `deny: ${confList(r.deny)}` : ''].filter(Boolean).join(', ')} }`;

/**
 * The `authorization` block of a nats-server 2.9 config file: one user per role (user name =
 * role). `password(role)` is either a literal password (quoted into the file) or, as
 * `{ env: NAME }`, a reference nats-server resolves from its environment (Kubernetes: from a Secret).
 */
export function natsServerAuthConfig(password: (role: NatsRole) => string | { env: string }): string {
  const users = NATS_ROLES.map((role) => {
    const p = password(role);
    const pw = typeof p === 'string' ? confString(p) : `$${p.env}`;
    const perm = natsPermissions(role);
    return `    { user: ${confString(role)}, password: ${pw}, permissions: { publish: ${confRule(perm.publish)}, subscribe: ${confRule(perm.subscribe)} } }`;
  });
  return ['# hessian-cluster: one NATS user per role (packages/wire/src/internal-auth.ts)', 'authorization {', '  users = [', ...users, '  ]', '}', ''].join('\n');
}

/**
 * A fresh random secret (192 bits, hex after a letter): NATS passwords and the cluster secret.
 * The letter matters: nats-server parses the value of a `$VAR` reference (the Kubernetes
 * config) as a config value, so a bare hex string that reads as a number ("1e5...", "3k7...",
 * all digits) stops it at start-up; about 8 % of bare 48-digit hex strings did.
 */
export function newSecret(bytes: Uint8Array = randomBytes(24)): string {
  return `h${Buffer.from(bytes).toString('hex')}`;
}

// ---- the cluster secret on the workers' gRPC port ------------------------------------------

export const CLUSTER_SECRET_HEADER = 'x-hessian-cluster-secret';

function readSecretFile(file: string, name: string): string {
  let v: string;
  try {
    v = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new Error(`${name}: cannot read ${file} (${(e as Error).message}); point it at a file holding the secret`);
  }
  if (!v) throw new Error(`${name}: ${file} is empty; write the secret into it`);
  return v;
}

/** HESSIAN_CLUSTER_SECRET, else the contents of HESSIAN_CLUSTER_SECRET_FILE; undefined when neither is set. */
export function clusterSecretFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const inline = env['HESSIAN_CLUSTER_SECRET']?.trim();
  if (inline) return inline;
  const file = env['HESSIAN_CLUSTER_SECRET_FILE']?.trim();
  return file ? readSecretFile(file, 'HESSIAN_CLUSTER_SECRET_FILE') : undefined;
}

/** HESSIAN_NATS_PASSWORD, else the contents of HESSIAN_NATS_PASSWORD_FILE (so a password need not sit in the environment). */
export function natsPasswordFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const inline = env['HESSIAN_NATS_PASSWORD'];
  if (inline !== undefined && inline !== '') return inline;
  const file = env['HESSIAN_NATS_PASSWORD_FILE']?.trim();
  return file ? readSecretFile(file, 'HESSIAN_NATS_PASSWORD_FILE') : undefined;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The worker's check of the cluster secret (constant-time over SHA-256 digests). */
export class ClusterSecretCheck {
  private readonly want: Buffer;
  constructor(secret: string) {
    this.want = digest(secret);
  }
  /** null when the call carries the secret, else the sentence for UNAUTHENTICATED. */
  check(md: grpc.Metadata): string | null {
    const v = md.get(CLUSTER_SECRET_HEADER)[0];
    if (v === undefined) return 'this worker serves only its cluster: the call carries no cluster secret (the coordinator and trainer send HESSIAN_CLUSTER_SECRET)';
    return timingSafeEqual(digest(String(v)), this.want) ? null : 'this worker serves only its cluster: the cluster secret of the call is wrong; give the caller the HESSIAN_CLUSTER_SECRET of the workers';
  }
}

/** A client interceptor that adds the cluster secret to every call (works on plaintext channels, unlike call credentials). */
export function clusterSecretInterceptor(secret: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(CLUSTER_SECRET_HEADER, secret);
        next(metadata, listener);
      },
    });
}

/** Client options for dialling workers: TLS name override (if any) and the cluster secret (if any). */
export function workerClientOptions(channelOptions: grpc.ChannelOptions, secret: string | undefined): grpc.ClientOptions {
  return secret ? { ...channelOptions, interceptors: [clusterSecretInterceptor(secret)] } : { ...channelOptions };
}

// ---- what a coordinator with API tokens refuses to start with ------------------------------

/**
 * API tokens protect nothing if the workers' port or NATS is open to anyone, so a coordinator
 * that requires tokens refuses to start unless the workers are dialled with mutual TLS or a
 * cluster secret. Returns the sentence, or null.
 */
export function workerAuthProblem(o: { tokens: boolean; workerMutualTls: boolean; clusterSecret: boolean }): string | null {
  if (!o.tokens || o.workerMutualTls || o.clusterSecret) return null;
  return 'HESSIAN_API_TOKENS is set but the workers would accept calls from anyone: set HESSIAN_CLUSTER_SECRET (or _FILE) on the coordinator, the workers and the trainer, or dial the workers with mutual TLS (HESSIAN_TLS_CA, _CERT, _KEY; workers with HESSIAN_TLS_CLIENT_AUTH=require)';
}

/** The same for NATS: with tokens on, the NATS server must require authentication (`auth_required` in its INFO). */
export function natsAuthProblem(o: { tokens: boolean; natsAuthRequired: boolean; natsUrl: string }): string | null {
  if (!o.tokens || o.natsAuthRequired) return null;
  return `HESSIAN_API_TOKENS is set but NATS at ${o.natsUrl} accepts clients without credentials, so anyone who reaches it could cancel jobs or register workers: run nats-server with one user per role (hessctl cluster up and deploy/ do; natsServerAuthConfig) and give the services HESSIAN_NATS_USER and HESSIAN_NATS_PASSWORD (or _FILE)`;
}
