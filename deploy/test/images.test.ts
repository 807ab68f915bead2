/**
 * The container images and the compose file, checked statically (no Docker engine here):
 * each Dockerfile's base images are exact versions (ARG defaults resolved), its final stage
 * runs as a numeric non-root USER and has a HEALTHCHECK (or an explicit NONE for the batch
 * trainer), every COPY from the context exists; the worker images carry what their backend
 * needs, the workers and the trainer Fashion-MNIST; the trainer image runs services/trainer;
 * the .dockerignore copies agree; compose.yaml describes NATS with JetStream, the coordinator,
 * two workers with distinct advertised addresses and the opt-in trainer.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { imageProblem, ROOT } from './lib.js';

const DEPLOY = path.join(ROOT, 'deploy');
const IMAGES = ['coordinator', 'worker-cpu', 'worker-gpu', 'trainer'] as const;

interface Instr {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | null;
  body: Instr[];
}

/** Dockerfile instructions (continuation lines joined, comments dropped). */
function instructions(text: string): Instr[] {
  const out: Instr[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (cur === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    cur += (cur ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const m = /^(\S+)\s*(.*)$/.exec(cur)!;
      out.push({ op: m[1].toUpperCase(), args: m[2] });
      cur = '';
    }
  }
  return out;
}

function stages(text: string): { globalArgs: Record<string, string>; stages: Stage[] } {
  const globalArgs: Record<string, string> = {};
  const out: Stage[] = [];
  for (const i of instructions(text)) {
    if (i.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args);
      assert.ok(m, `FROM ${i.args}`);
      const from = m[1].replace(/\$\{?([A-Z0-9_]+)\}?/g, (_, n: string) => {
        assert.ok(n in globalArgs, `FROM uses ARG ${n} without a default before the first FROM`);
        return globalArgs[n];
      });
      out.push({ from, name: m[2] ?? null, body: [] });
    } else if (out.length === 0) {
      if (i.op === 'ARG') {
        const [k, v] = i.args.split('=');
        if (v !== undefined) globalArgs[k] = v;
      }
    } else out[out.length - 1].body.push(i);
  }
  return { globalArgs, stages: out };
}

function dockerfile(name: string): string {
  return readFileSync(path.join(DEPLOY, `Dockerfile.${name}`), 'utf8');
}

describe('Dockerfiles', () => {
  for (const name of IMAGES) {
    describe(name, () => {
      const text = dockerfile(name);
      const { stages: st } = stages(text);
      const final = st[st.length - 1];
      const stageNames = new Set(st.map((s) => s.name).filter(Boolean));

      test('multi-stage, base images pinned to exact versions (no latest, no missing tag)', () => {
        assert.ok(st.length >= 2, 'multi-stage');
        for (const s of st) {
          if (stageNames.has(s.from)) continue;
          assert.equal(imageProblem(s.from), null, `FROM ${s.from}`);
        }
        for (const s of st) if (!stageNames.has(s.from) && s.from.startsWith('node:')) assert.match(s.from, /^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
        assert.match(text, /docker buildx imagetools inspect/, 'says how to pin digests');
      });

      test('the final stage runs as a numeric non-root USER', () => {
        const users = final.body.filter((i) => i.op === 'USER');
        assert.ok(users.length > 0, 'a USER in the final stage');
        const u = users[users.length - 1].args.split(':')[0];
        assert.match(u, /^\d+$/, `USER ${u} is numeric (Kubernetes runAsNonRoot can only verify numeric users)`);
        assert.notEqual(Number(u), 0);
      });

      test('HEALTHCHECK (the services) or an explicit NONE (the batch trainer)', () => {
        const hc = final.body.filter((i) => i.op === 'HEALTHCHECK').map((i) => i.args);
        if (name === 'trainer') assert.deepEqual(hc, ['NONE']);
        else {
          assert.equal(hc.length, 1);
          assert.match(hc[0], /CMD \["node", "\/app\/deploy\/healthcheck\.mjs"\]/);
        }
      });

      test('every COPY from the build context exists', () => {
        for (const s of st)
          for (const i of s.body.filter((x) => x.op === 'COPY' && !/--from=/.test(x.args))) {
            const parts = i.args.split(/\s+/).filter((p) => !p.startsWith('--'));
            for (const src of parts.slice(0, -1)) assert.ok(existsSync(path.join(ROOT, src)), `COPY ${src}`);
          }
      });

      test('its ignore file is a copy of deploy/.dockerignore', () => {
        assert.equal(readFileSync(path.join(DEPLOY, `Dockerfile.${name}.dockerignore`), 'utf8'), readFileSync(path.join(DEPLOY, '.dockerignore'), 'utf8'));
      });
    });
  }

  test('worker-cpu: native backend built with g++, make, python3, libopenblas-dev; runtime with libopenblas0; portable -march', () => {
    const { globalArgs, stages: st } = stages(dockerfile('worker-cpu'));
    void globalArgs;
    const build = st[0].body.map((i) => `${i.op} ${i.args}`).join('\n');
    for (const pkg of ['g++', 'make', 'python3', 'libopenblas-dev']) assert.match(build, new RegExp(`apt-get install[^\\n]*\\s${pkg.replace('+', '\\+')}(\\s|$)`), pkg);
    assert.match(build, /ARG HESSIAN_NATIVE_MARCH=x86-64-v3/);
    assert.match(build, /ls packages\/native\/build\/Release\/\*\.node/, 'the image fails when the addon did not build');
    const runtime = st[st.length - 1].body.map((i) => `${i.op} ${i.args}`).join('\n');
    assert.match(runtime, /apt-get install[^\n]*libopenblas0/);
    assert.doesNotMatch(runtime, /libopenblas-dev|g\+\+/);
    assert.match(runtime, /HESSIAN_BACKEND=native/);
  });

  test('worker-gpu: tfjs-node-gpu 4.22 on CUDA 11.2 with cuDNN 8 (what tfjs-node-gpu documents)', () => {
    const text = dockerfile('worker-gpu');
    const { globalArgs, stages: st } = stages(text);
    assert.equal(globalArgs['TFJS_NODE_GPU_VERSION'], '4.22.0');
    assert.match(globalArgs['CUDA_IMAGE'], /^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu\d+\.\d+$/);
    assert.equal(st[st.length - 1].from, globalArgs['CUDA_IMAGE']);
    assert.match(text, /tfjs-node-gpu@\$\{TFJS_NODE_GPU_VERSION\}/);
    assert.match(text, /cuDNN 8\.1\.0/);
    assert.match(text, /HESSIAN_BACKEND=tensorflow/);
  });

  test('trainer: runs the cluster trainer (services/trainer main, configured by env), built and copied; no placeholder left', () => {
    const text = dockerfile('trainer');
    const { stages: st } = stages(text);
    const final = st[st.length - 1].body;
    const entry = final.filter((i) => i.op === 'ENTRYPOINT').map((i) => i.args);
    assert.deepEqual(entry, ['["node", "/app/services/trainer/dist/src/main.js"]']);
    assert.ok(existsSync(path.join(ROOT, 'services/trainer/src/main.ts')), 'the entry point has a source');
    assert.equal(final.filter((i) => i.op === 'CMD').length, 0, 'no CMD: no flags, the environment configures it');
    assert.doesNotMatch(text, /PLACEHOLDER|hessctl train|cli\.js/i);
    const build = st[0].body.map((i) => `${i.op} ${i.args}`).join('\n');
    assert.match(build, /tsc -b[^\n&]*\sservices\/trainer(\s|$)/, 'the build stage compiles services/trainer');
    assert.match(build, /ls packages\/native\/build\/Release\/\*\.node/, 'the image fails when the native addon did not build');
    const runtime = final.map((i) => `${i.op} ${i.args}`).join('\n');
    assert.match(runtime, /COPY --from=build \/src\/services \.\/services/);
    assert.match(runtime, /apt-get install[^\n]*libopenblas0/);
    assert.match(runtime, /HESSIAN_BACKEND=native/);
    // The run folders' parent, writable by the runtime user (a fresh volume copies its owner).
    assert.match(runtime, /mkdir -p \/runs && chown 10001:10001 \/runs/);
  });

  for (const name of ['worker-cpu', 'worker-gpu', 'trainer'] as const)
    test(`${name}: carries Fashion-MNIST (Debian's dataset-fashion-mnist) at HESSIAN_FASHION_MNIST, for fashion-mnist:* data specs`, () => {
      const { stages: st } = stages(dockerfile(name));
      const final = st[st.length - 1].body.map((i) => `${i.op} ${i.args}`).join('\n');
      const m = /COPY --from=(\S+) \/usr\/share\/datasets\/fashion-mnist \/usr\/share\/datasets\/fashion-mnist/.exec(final);
      assert.ok(m, 'the final stage copies /usr/share/datasets/fashion-mnist');
      const from = st.find((x) => x.name === m[1]);
      assert.ok(from, `stage ${m[1]}`);
      assert.ok(
        from.body.some((i) => i.op === 'RUN' && /apt-get install[^&]*\sdataset-fashion-mnist(\s|$)/.test(i.args)),
        `stage ${m[1]} installs dataset-fashion-mnist`,
      );
      assert.match(final, /HESSIAN_FASHION_MNIST=\/usr\/share\/datasets\/fashion-mnist/);
    });
});

describe('deploy/compose.yaml', () => {
  interface ComposeService {
    image?: string;
    build?: { context: string; dockerfile: string };
    command?: string[];
    environment?: Record<string, string>;
    depends_on?: Record<string, unknown>;
    healthcheck?: unknown;
    profiles?: string[];
    volumes?: string[];
    restart?: string;
    entrypoint?: string[];
    user?: string;
  }
  const file = path.join(DEPLOY, 'compose.yaml');
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };

  test('`docker compose config` accepts it, where the compose plugin exists', (t) => {
    const v = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    if (v.error || v.status !== 0) {
      // No compose plugin on these machines (the docker client has no `compose`); the YAML
      // checks below cover the file. Said out loud rather than skipped silently.
      t.diagnostic('docker compose is not installed here: checked by parsing the YAML only');
      return;
    }
    const r = spawnSync('docker', ['compose', '-f', file, 'config', '--quiet'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  test('NATS with JetStream, the coordinator and two workers; images pinned; builds point at existing Dockerfiles', () => {
    const s = doc.services;
    assert.ok(s['nats']?.command?.includes('-js'), 'nats -js');
    assert.equal(imageProblem(s['nats'].image), null);
    const workers = Object.keys(s).filter((n) => n.startsWith('worker'));
    assert.ok(workers.length >= 2, `${workers.length} workers`);
    for (const [name, svc] of Object.entries(s)) {
      assert.equal(imageProblem(svc.image), null, `${name}: ${svc.image}`);
      if (svc.build) assert.ok(existsSync(path.join(DEPLOY, svc.build.context, svc.build.dockerfile)), `${name}: ${svc.build.dockerfile}`);
      if (name !== 'nats' && name !== 'credentials') {
        assert.equal(svc.environment?.['HESSIAN_NATS_URL'], 'nats://nats:4222', name);
        assert.ok(svc.depends_on?.['nats'], `${name} waits for nats`);
      }
    }
    // Each worker advertises its own compose DNS name (the coordinator dials it).
    const adv = workers.map((w) => s[w].environment?.['HESSIAN_ADVERTISE_ADDRESS']);
    assert.deepEqual(
      adv,
      workers.map((w) => `${w}:7071`),
    );
    assert.match(s['coordinator'].build?.dockerfile ?? '', /Dockerfile\.coordinator$/);
  });

  test('authenticated internals: credentials made once into a volume, NATS users per role, every client with its own password file and the cluster secret', () => {
    const s = doc.services;
    const cred = s['credentials'];
    assert.ok(cred, 'a credentials service');
    assert.deepEqual(cred.entrypoint?.slice(-6), ['cluster', 'credentials', '--dir', '/secrets', '--chown', '10001:10001']);
    assert.ok(existsSync(path.join(DEPLOY, '..', 'packages/client/src/commands/cluster-credentials.ts')));
    const vol = (svc: ComposeService) => (svc.volumes ?? []).map((v) => v.split(':')).find(([name]) => name === 'internal-auth');
    assert.deepEqual(vol(cred), ['internal-auth', '/secrets']);
    assert.ok('internal-auth' in (doc.volumes ?? {}));
    const nats = s['nats'];
    assert.deepEqual(nats.command?.slice(-2), ['-c', '/secrets/auth/nats.conf']);
    assert.deepEqual(vol(nats), ['internal-auth', '/secrets', 'ro']);
    assert.deepEqual(nats.depends_on?.['credentials'], { condition: 'service_completed_successfully' });
    const roles: Record<string, string> = { coordinator: 'coordinator', 'worker-1': 'worker', 'worker-2': 'worker', trainer: 'trainer' };
    for (const [name, role] of Object.entries(roles)) {
      const env = s[name].environment ?? {};
      assert.equal(env['HESSIAN_NATS_USER'], role, name);
      assert.equal(env['HESSIAN_NATS_PASSWORD_FILE'], `/secrets/auth/${role}.password`, name);
      assert.equal(env['HESSIAN_CLUSTER_SECRET_FILE'], '/secrets/auth/cluster-secret', name);
      assert.equal(env['HESSIAN_NATS_PASSWORD'], undefined, `${name}: no password in the environment`);
      assert.deepEqual(vol(s[name]), ['internal-auth', '/secrets', 'ro'], name);
    }
  });

  test('the trainer: opt-in profile, its Dockerfile, the run folder on a named volume, the spec file mounted, after the workers', () => {
    const t = doc.services['trainer'];
    assert.ok(t, 'a trainer service');
    assert.deepEqual(t.profiles, ['train'], 'not started by a plain `up`');
    assert.match(t.build?.dockerfile ?? '', /Dockerfile\.trainer$/);
    const env = t.environment ?? {};
    const volumes = (t.volumes ?? []).map((v) => v.split(':'));
    const runDir = env['HESSIAN_TRAIN_RUN_DIR'] ?? '';
    const runVol = volumes.find(([, target]) => runDir.startsWith(`${target}/`));
    assert.ok(runVol, `${runDir} is on a volume`);
    assert.ok(runVol[0] in (doc.volumes ?? {}), `${runVol[0]} is a named volume (outlives the container)`);
    const specVol = volumes.find(([, target]) => target === env['HESSIAN_TRAIN_SPEC']);
    assert.ok(specVol, 'HESSIAN_TRAIN_SPEC is a mounted file');
    assert.equal(specVol[2], 'ro');
    assert.ok(existsSync(path.join(DEPLOY, specVol[0])), `${specVol[0]} exists`);
    const workers = Object.keys(doc.services).filter((n) => n.startsWith('worker'));
    for (const w of workers) assert.ok(t.depends_on?.[w], `trainer waits for ${w}`);
    assert.match(t.restart ?? '', /^on-failure/, 'restarted after a crash (it resumes)');
  });
});
