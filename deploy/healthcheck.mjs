#!/usr/bin/env node
// Container HEALTHCHECK (Docker, compose): asks the standard gRPC health service
// (grpc.health.v1.Health/Check) of the service in this container on 127.0.0.1:$HESSIAN_GRPC_PORT.
// Exit 0 when the status is SERVING, 1 otherwise. Kubernetes does not use it: its `grpc:`
// probes speak the same protocol natively (k8s/).
//   node deploy/healthcheck.mjs [PORT] [SERVICE]   (defaults: $HESSIAN_GRPC_PORT or 7070, '')
import * as grpc from '@grpc/grpc-js';
import { service } from 'grpc-health-check';

const port = process.argv[2] || process.env.HESSIAN_GRPC_PORT || '7070';
const name = process.argv[3] ?? '';
const Health = grpc.makeClientConstructor(service, 'grpc.health.v1.Health');
const client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
client.Check({ service: name }, { deadline: Date.now() + 3000 }, (err, res) => {
  client.close();
  if (err) {
    process.stderr.write(`health: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`health: ${res.status}\n`);
  process.exit(res.status === 'SERVING' ? 0 : 1);
});
