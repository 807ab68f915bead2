/**
 * Why a channel to the coordinator never became ready, in words a user can act on. gRPC only
 * reports TRANSIENT_FAILURE, which hessctl used to print as "connection refused" even when the
 * port was open and the two ends disagreed about TLS. After a failure, one short probe each:
 * TCP (refused?), an HTTP/2 preface in plaintext (does the server speak plaintext h2?) and a
 * TLS handshake with the client's own CA and certificate (wrong CA, wrong name, client
 * certificate required?).
 */
import { connect as h2connect } from 'node:http2';
import { isIP, createConnection } from 'node:net';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';

export interface TlsSettings {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsServerName?: string;
}

/** What the probe found: a sentence to print (with what to change), or null when nothing specific was found. */
export type Diagnosis = { kind: 'refused' | 'tls-mismatch' | 'certificate'; sentence: string } | null;

function hostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

function tcpOpen(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      res(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Does a plaintext HTTP/2 server answer (its SETTINGS frame) on this port? */
function speaksPlainH2(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((res) => {
    const authority = `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const s = h2connect(authority);
    const timer = setTimeout(() => done(false), ms);
    function done(ok: boolean) {
      clearTimeout(timer);
      s.destroy();
      res(ok);
    }
    s.once('remoteSettings', () => done(true));
    s.once('error', () => done(false));
    s.once('close', () => done(false));
  });
}

interface HandshakeResult {
  ok: boolean;
  code?: string;
  message?: string;
}

/** A TLS handshake as the client would make it; an alert the server sends right after (TLS 1.3 client-certificate checks) counts as its failure. */
function handshake(host: string, port: number, t: TlsSettings, verify: boolean, ms: number): Promise<HandshakeResult> {
  return new Promise((res) => {
    let ca: Buffer | undefined;
    let cert: Buffer | undefined;
    let key: Buffer | undefined;
    try {
      ca = t.tlsCa ? readFileSync(t.tlsCa) : undefined;
      cert = t.tlsCert ? readFileSync(t.tlsCert) : undefined;
      key = t.tlsKey ? readFileSync(t.tlsKey) : undefined;
    } catch (e) {
      return res({ ok: false, code: 'FILE', message: (e as Error).message });
    }
    // An IP is not a valid SNI name (Node warns, DEP0123): send a name only when there is one.
    const servername = t.tlsServerName ?? (isIP(host) ? undefined : host);
    const s = tlsConnect({ host, port, ca, cert, key, servername, rejectUnauthorized: verify, ALPNProtocols: ['h2'] });
    let settled = false;
    const finish = (r: HandshakeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      res(r);
    };
    const timer = setTimeout(() => finish({ ok: false, code: 'TIMEOUT' }), ms);
    s.once('secureConnect', () => setTimeout(() => finish({ ok: true }), 300));
    s.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, code: e.code, message: e.message }));
    s.on('data', () => {});
  });
}

const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** Probes `addr` (host:port) after a failed connection; at most about 3 x `ms`. */
export async function diagnoseConnection(addr: string, t: TlsSettings, ms = 2000): Promise<Diagnosis> {
  const { host, port } = hostPort(addr);
  if (!(await tcpOpen(host, port, ms))) return { kind: 'refused', sentence: 'connection refused' };
  const plain = await speaksPlainH2(host, port, ms);
  if (!t.tlsCa) {
    if (plain) return null;
    const tls = await handshake(host, port, t, false, ms);
    if (tls.ok || tls.code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
      return { kind: 'tls-mismatch', sentence: `the coordinator at ${addr} speaks TLS and this client does not; give --tls-ca PATH (or set HESSIAN_TLS_CA) with the CA that signed its certificate` };
    return null;
  }
  if (plain) return { kind: 'tls-mismatch', sentence: `the coordinator at ${addr} speaks plaintext, without TLS; drop --tls-ca (and unset HESSIAN_TLS_CA), or turn TLS on at the coordinator (HESSIAN_TLS_CERT, HESSIAN_TLS_KEY)` };
  const tls = await handshake(host, port, t, true, ms);
  if (tls.ok) return null;
  const why = `${tls.code ?? 'error'}: ${tls.message ?? ''}`.trim();
  if (tls.code && CERT_CODES.has(tls.code))
    return { kind: 'certificate', sentence: `the certificate of the coordinator at ${addr} is not signed by the CA in ${t.tlsCa} (${why}); give --tls-ca (or HESSIAN_TLS_CA) the CA that signed it` };
  if (tls.code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return { kind: 'certificate', sentence: `the certificate of the coordinator at ${addr} does not name the host you dialled (${tls.message ?? why}); give --tls-server-name NAME (or HESSIAN_TLS_SERVER_NAME) with a name it carries` };
  if (tls.code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || (!t.tlsCert && /certificate required|handshake failure/i.test(tls.message ?? '')))
    return { kind: 'certificate', sentence: `the coordinator at ${addr} requires a client certificate (mutual TLS); give --tls-cert and --tls-key (or HESSIAN_TLS_CERT and HESSIAN_TLS_KEY) signed by its CA` };
  if (/unknown ca|bad certificate|certificate unknown/i.test(tls.message ?? ''))
    return { kind: 'certificate', sentence: `the coordinator at ${addr} refused this client's certificate ${t.tlsCert ?? ''} (${why}); give --tls-cert and --tls-key signed by the CA it trusts` };
  if (tls.code === 'FILE') return { kind: 'certificate', sentence: `TLS: ${tls.message}` };
  return null;
}
