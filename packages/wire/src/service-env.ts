/**
 * The start-up settings both services' main.ts read alike from the environment: the NATS URL,
 * the gRPC / metrics / health ports, server TLS and NATS auth. Each service adds its own
 * security settings through `own`; a bad one is fatal before anything starts (one log line,
 * exit 2), and the security summary is logged once, in the same shape for both.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { natsAuthFromEnv, serverCredentials, type NatsAuthOptions } from './security.js';
import { envInt, envString } from './service.js';

export interface ServiceEnv {
  natsUrl: string;
  grpcPort: number;
  metricsPort: number;
  /** plaintext health-only port for kubelet probes; -1: none */
  healthPort: number;
  serverCredentials: grpc.ServerCredentials;
  natsAuth: NatsAuthOptions;
}

/** A service's own settings and what of them goes into the security log line. */
export interface OwnSettings<T> {
  settings: T;
  log: Record<string, unknown>;
}

/**
 * Reads the shared settings (`ports`: the service's default gRPC and metrics ports) and, inside
 * the same fatal guard, the service's own (`own` gets HESSIAN_FASHION_MNIST, the default data root).
 */
export function serviceEnv<T extends object>(log: Logger, ports: { grpc: number; metrics: number }, own: (fashionMnist: string) => OwnSettings<T>): ServiceEnv & T {
  let security: Pick<ServiceEnv, 'serverCredentials' | 'healthPort' | 'natsAuth'> & T;
  try {
    const server = serverCredentials();
    const mine = own(envString('HESSIAN_FASHION_MNIST', '/usr/share/datasets/fashion-mnist'));
    security = { ...mine.settings, serverCredentials: server.creds, healthPort: envInt('HESSIAN_HEALTH_PORT', -1, -1), natsAuth: natsAuthFromEnv() };
    const nats = security.natsAuth;
    log.info({ tls: server.tls, mutualTls: server.mutual, ...mine.log, natsAuth: Boolean(nats.user || nats.token), natsTls: Boolean(nats.tls) }, 'security');
  } catch (e) {
    log.fatal({ err: e instanceof Error ? e.message : String(e) }, 'bad security settings');
    process.exit(2);
  }
  return {
    natsUrl: envString('HESSIAN_NATS_URL', 'nats://127.0.0.1:4222'),
    grpcPort: envInt('HESSIAN_GRPC_PORT', ports.grpc, 0),
    metricsPort: envInt('HESSIAN_METRICS_PORT', ports.metrics, -1),
    ...security,
  };
}
