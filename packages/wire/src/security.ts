/**
 * Security settings shared by the coordinator, the worker and hessctl, all opt-in by
 * environment: TLS credentials for gRPC servers and clients (mutual TLS as an option),
 * bearer tokens on the coordinator's API, NATS credentials and TLS, and the directories
 * from which models and data may be read (HESSIAN_DATA_ROOTS).
 */
import * as grpc from '@grpc/grpc-js';
import { UserError } from '@hessian/linalg';
import { timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { natsPasswordFromEnv } from './internal-auth.js';

type Env = NodeJS.ProcessEnv;

const get = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v ? v : undefined;
};

function readPem(file: string, name: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`${name}: cannot read ${file} (${(e as Error).message}); point it at a PEM file`);
  }
}

/** TLS material named by HESSIAN_TLS_CERT / HESSIAN_TLS_KEY / HESSIAN_TLS_CA (files, PEM). */
export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

export function tlsFilesFromEnv(env: Env = process.env): TlsFiles {
  return { cert: get(env, 'HESSIAN_TLS_CERT'), key: get(env, 'HESSIAN_TLS_KEY'), ca: get(env, 'HESSIAN_TLS_CA') };
}

/**
 * Server credentials: insecure when HESSIAN_TLS_CERT is unset; TLS with the cert and key
 * otherwise; with HESSIAN_TLS_CLIENT_AUTH=require, clients must present a certificate
 * signed by HESSIAN_TLS_CA (mutual TLS).
 */
export function serverCredentials(env: Env = process.env): { creds: grpc.ServerCredentials; tls: boolean; mutual: boolean } {
  const f = tlsFilesFromEnv(env);
  if (!f.cert && !f.key) return { creds: grpc.ServerCredentials.createInsecure(), tls: false, mutual: false };
  if (!f.cert || !f.key) throw new Error('HESSIAN_TLS_CERT and HESSIAN_TLS_KEY: set both (PEM certificate and its private key) or neither');
  const mode = (get(env, 'HESSIAN_TLS_CLIENT_AUTH') ?? 'none').toLowerCase();
  if (mode !== 'none' && mode !== 'require') throw new Error(`HESSIAN_TLS_CLIENT_AUTH: must be none or require, got ${JSON.stringify(mode)}`);
  const mutual = mode === 'require';
  if (mutual && !f.ca) throw new Error('HESSIAN_TLS_CLIENT_AUTH=require needs HESSIAN_TLS_CA: the CA that signs client certificates');
  const ca = f.ca ? readPem(f.ca, 'HESSIAN_TLS_CA') : null;
  const creds = grpc.ServerCredentials.createSsl(ca, [{ cert_chain: readPem(f.cert, 'HESSIAN_TLS_CERT'), private_key: readPem(f.key, 'HESSIAN_TLS_KEY') }], mutual);
  return { creds, tls: true, mutual };
}

/**
 * Channel credentials: insecure unless a CA is given (then TLS verifying the server against
 * it); a cert and key are presented as the client certificate (mutual TLS).
 */
export function channelCredentials(f: TlsFiles): grpc.ChannelCredentials {
  if (!f.ca) {
    if (f.cert || f.key) throw new Error('a client certificate needs a CA too (HESSIAN_TLS_CA / --tls-ca) to verify the server');
    return grpc.credentials.createInsecure();
  }
  if (Boolean(f.cert) !== Boolean(f.key)) throw new Error('client certificate: give both the certificate and its key, or neither');
  return grpc.credentials.createSsl(readPem(f.ca, 'CA'), f.key ? readPem(f.key, 'key') : null, f.cert ? readPem(f.cert, 'certificate') : null);
}

/** Extra channel options for TLS: the name the server certificate must carry (HESSIAN_TLS_SERVER_NAME), when it differs from the dialled host. */
export function tlsChannelOptions(env: Env = process.env): grpc.ChannelOptions {
  const name = get(env, 'HESSIAN_TLS_SERVER_NAME');
  return name ? { 'grpc.ssl_target_name_override': name, 'grpc.default_authority': name } : {};
}

// ---- bearer tokens -------------------------------------------------------------------------

/** Tokens from HESSIAN_API_TOKENS (comma-separated) and HESSIAN_API_TOKENS_FILE (one per line or comma-separated); empty: no authentication. */
export function apiTokensFromEnv(env: Env = process.env): string[] {
  const out: string[] = [];
  const add = (s: string) => out.push(...s.split(/[,\n]/).map((t) => t.trim()).filter((t) => t && !t.startsWith('#')));
  const inline = get(env, 'HESSIAN_API_TOKENS');
  if (inline) add(inline);
  const file = get(env, 'HESSIAN_API_TOKENS_FILE');
  if (file) add(readFileSync(file, 'utf8'));
  return out;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Checks `authorization: Bearer <token>` against the allowed tokens (constant-time over SHA-256 digests). */
export class TokenAuth {
  private readonly digests: Buffer[];
  constructor(tokens: string[]) {
    this.digests = tokens.map(digest);
  }
  get enabled(): boolean {
    return this.digests.length > 0;
  }
  /** null when allowed, else the sentence for UNAUTHENTICATED. */
  check(md: grpc.Metadata): string | null {
    if (!this.enabled) return null;
    const v = md.get('authorization')[0];
    if (v === undefined) return 'no bearer token: this coordinator requires one; pass --token or set HESSIAN_TOKEN';
    const m = /^Bearer\s+(.+)$/i.exec(String(v).trim());
    if (!m) return 'the authorization header is not "Bearer <token>"; pass the token with --token or HESSIAN_TOKEN';
    const d = digest(m[1].trim());
    let ok = false;
    for (const t of this.digests) ok = timingSafeEqual(t, d) || ok;
    return ok ? null : 'the bearer token is not valid for this coordinator; check --token / HESSIAN_TOKEN with the operator';
  }
}

/** Call credentials that add `authorization: Bearer <token>` to every call (TLS channels only, as gRPC requires). */
export function bearerCallCredentials(token: string): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_p, cb) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    cb(null, md);
  });
}

// ---- NATS ----------------------------------------------------------------------------------

/** The part of nats.js ConnectionOptions these settings fill. */
export interface NatsAuthOptions {
  user?: string;
  pass?: string;
  token?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

/** HESSIAN_NATS_USER/HESSIAN_NATS_PASSWORD[_FILE] or HESSIAN_NATS_TOKEN; HESSIAN_NATS_TLS_CA (+ HESSIAN_NATS_TLS_CERT/KEY for client certificates). */
export function natsAuthFromEnv(env: Env = process.env): NatsAuthOptions {
  const o: NatsAuthOptions = {};
  const user = get(env, 'HESSIAN_NATS_USER');
  const pass = natsPasswordFromEnv(env);
  const token = get(env, 'HESSIAN_NATS_TOKEN');
  if (user) {
    o.user = user;
    o.pass = pass ?? '';
  }
  if (token) o.token = token;
  const ca = get(env, 'HESSIAN_NATS_TLS_CA');
  const cert = get(env, 'HESSIAN_NATS_TLS_CERT');
  const key = get(env, 'HESSIAN_NATS_TLS_KEY');
  if (ca || cert || key) {
    o.tls = {};
    if (ca) o.tls.caFile = ca;
    if (cert) o.tls.certFile = cert;
    if (key) o.tls.keyFile = key;
  }
  return o;
}

// ---- data roots ----------------------------------------------------------------------------

/** HESSIAN_DATA_ROOTS (colon-separated directories), else the defaults given. */
export function dataRootsFromEnv(defaults: string[], env: Env = process.env): string[] {
  const v = get(env, 'HESSIAN_DATA_ROOTS');
  const list = v ? v.split(':').map((s) => s.trim()).filter(Boolean) : defaults;
  return list.map((d) => canonical(d));
}

/** path.resolve, then realpath of the longest existing prefix (symlinks resolved; a missing tail is kept as written). */
function canonical(p: string): string {
  let cur = path.resolve(p);
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(cur), ...tail);
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return path.join(cur, ...tail);
      tail.unshift(path.basename(cur));
      cur = parent;
    }
  }
}

const inside = (p: string, root: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

/**
 * Refuses (UserError INVALID_ARGUMENT) a file that resolves, after `..` and symlinks,
 * outside every root; `what` names it in the sentence (e.g. "model", "data file").
 */
export function checkInRoots(file: string, roots: string[], what: string): string {
  const real = canonical(file);
  if (roots.some((r) => inside(real, r))) return real;
  throw new UserError(
    `${what}: ${file} is outside the allowed roots (${roots.join(', ') || 'none'}); upload the model with \`hessctl upload-model\` or ask the operator to add the directory to HESSIAN_DATA_ROOTS`,
    'INVALID_ARGUMENT',
  );
}

/** Refuses a file larger than `max` bytes (RESOURCE_EXHAUSTED); missing files are left to the loader's own sentence. */
export function checkFileSize(file: string, max: number, what: string): void {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return;
  }
  if (size > max) throw new UserError(`${what}: ${file} is ${size} bytes, larger than the limit of ${max} bytes (HESSIAN_MAX_UPLOAD_BYTES); prune it or ask the operator to raise the limit`, 'RESOURCE_EXHAUSTED');
}

/** The files a data spec reads (idx:/npy: paths; none for fashion-mnist:, synthetic:). Same grammar as @hessian/engine parseDataSpec. */
export function dataSpecFiles(data: string): string[] {
  // preprocessing options after the last '?' (engine data transform.ts: key=value,...), then the slice
  const s = data
    .trim()
    .replace(/\?[a-z]+=[^,?=]*(,[a-z]+=[^,?=]*)*$/i, '')
    .trim()
    .replace(/\[([^[\]]*)\]$/, '')
    .trim();
  const m = /^(idx|npy):(.*)$/i.exec(s);
  if (!m) return [];
  return m[2].split(',').map((p) => p.trim()).filter(Boolean);
}

/**
 * Checks the files an analysis spec names against the roots: a model path (not zoo:, not
 * sha256:) and idx:/npy: data files. With `maxBytes`, also the sizes of model.json, the
 * weight files it names (data files may be larger).
 */
export function checkSpecFiles(spec: { model: string; data: string }, roots: string[], maxBytes?: number): void {
  const model = spec.model.trim();
  if (model && !/^(zoo|sha256):/.test(model)) {
    const real = checkInRoots(model, roots, 'model');
    if (maxBytes !== undefined) {
      checkFileSize(real, maxBytes, 'model');
      let total = 0;
      try {
        const json = JSON.parse(readFileSync(real, 'utf8')) as { weightsManifest?: { paths?: string[] }[] };
        for (const p of (json.weightsManifest ?? []).flatMap((g) => g.paths ?? [])) {
          const w = checkInRoots(path.join(path.dirname(real), p), roots, 'model weights');
          try {
            total += statSync(w).size;
          } catch {
            /* the loader says which file is missing */
          }
        }
      } catch (e) {
        if (e instanceof UserError) throw e;
        /* unreadable or not JSON: the loader's sentence says so */
      }
      if (total > maxBytes) throw new UserError(`model: the weight files of ${model} hold ${total} bytes, more than the limit of ${maxBytes} bytes (HESSIAN_MAX_UPLOAD_BYTES); prune the model or ask the operator to raise the limit`, 'RESOURCE_EXHAUSTED');
    }
  }
  for (const f of dataSpecFiles(spec.data)) checkInRoots(f, roots, 'data');
}
