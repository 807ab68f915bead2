/** TLS and bearer-token flags shared by every command that talks to the coordinator. */
import type { Flag, Values } from '../flags.js';
import type { ConnectOptions } from '../grpc-client.js';

export const AUTH_FLAGS: Flag[] = [
  { name: 'tls-ca', type: 'string', arg: 'PATH', help: "TLS: the CA (PEM) that signs the coordinator's certificate (default: $HESSIAN_TLS_CA; unset: plaintext)" },
  { name: 'tls-cert', type: 'string', arg: 'PATH', help: 'TLS client certificate (PEM) for a coordinator that requires mutual TLS (default: $HESSIAN_TLS_CERT)' },
  { name: 'tls-key', type: 'string', arg: 'PATH', help: 'private key of --tls-cert (default: $HESSIAN_TLS_KEY)' },
  { name: 'tls-server-name', type: 'string', arg: 'NAME', help: "name the coordinator's certificate carries, when it differs from the --server host (default: $HESSIAN_TLS_SERVER_NAME)" },
  { name: 'token', type: 'string', arg: 'TOKEN', help: 'bearer token for a coordinator with HESSIAN_API_TOKENS (default: $HESSIAN_TOKEN)' },
];

export const AUTH_FLAG_NAMES: ReadonlySet<string> = new Set(AUTH_FLAGS.map((f) => f.name));

/** Connection options from the flags, else the environment (HESSIAN_TLS_CA, HESSIAN_TLS_CERT, HESSIAN_TLS_KEY, HESSIAN_TLS_SERVER_NAME, HESSIAN_TOKEN). */
export function authOptions(values: Values, env: NodeJS.ProcessEnv = process.env): ConnectOptions {
  const pick = (flag: string, name: string): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    const e = env[name]?.trim();
    return e ? e : undefined;
  };
  return {
    tlsCa: pick('tls-ca', 'HESSIAN_TLS_CA'),
    tlsCert: pick('tls-cert', 'HESSIAN_TLS_CERT'),
    tlsKey: pick('tls-key', 'HESSIAN_TLS_KEY'),
    tlsServerName: pick('tls-server-name', 'HESSIAN_TLS_SERVER_NAME'),
    token: pick('token', 'HESSIAN_TOKEN'),
  };
}
