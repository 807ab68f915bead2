/**
 * The local cluster's internal credentials (DIR/auth, mode 0700): one NATS password per role
 * and nats-server's config holding them (natsServerAuthConfig: only the coordinator publishes
 * job subjects, workers only heartbeats), and the cluster secret the workers require on their
 * gRPC port. Generated on the first `cluster up` of a folder and kept, so a restarted cluster
 * and a trainer given the files keep working. Services read them from files (…_FILE), so no
 * secret is on a command line or in cluster.json.
 */
import { natsServerAuthConfig, newSecret, NATS_ROLES, type NatsRole } from '@hessian/wire';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ClusterAuth {
  dir: string;
  /** nats-server's config file (-c). */
  natsConfig: string;
  /** The environment a service of `role` needs (NATS user and password file, the cluster secret file). */
  env(role: NatsRole): Record<string, string>;
}

function secretFile(file: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8').trim()) return;
  writeFileSync(file, newSecret() + '\n', { mode: 0o600 });
}

export function ensureClusterAuth(clusterDir: string): ClusterAuth {
  const dir = join(clusterDir, 'auth');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = (role: NatsRole) => join(dir, `${role}.password`);
  for (const role of NATS_ROLES) secretFile(file(role));
  const secret = join(dir, 'cluster-secret');
  secretFile(secret);
  const natsConfig = join(dir, 'nats.conf');
  writeFileSync(natsConfig, natsServerAuthConfig((role) => readFileSync(file(role), 'utf8').trim()), { mode: 0o600 });
  return {
    dir,
    natsConfig,
    env: (role) => ({
      HESSIAN_NATS_USER: role,
      // an inline password or token inherited from the caller's environment would win over the file
      HESSIAN_NATS_PASSWORD: '',
      HESSIAN_NATS_TOKEN: '',
      HESSIAN_NATS_PASSWORD_FILE: file(role),
      HESSIAN_CLUSTER_SECRET: '',
      HESSIAN_CLUSTER_SECRET_FILE: secret,
    }),
  };
}
