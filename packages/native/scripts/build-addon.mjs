#!/usr/bin/env node
// Builds the N-API addon (build/Release/hessian_native.node) with node-gyp against
// system OpenBLAS. Never fails the install: when the toolchain or OpenBLAS is missing
// it prints what to install and exits 0; `import '@hessian/native'` then reports
// available=false and the `native` backend is not registered.
//   HESSIAN_NATIVE_SKIP_BUILD=1   skip the build entirely
//   HESSIAN_NATIVE_MARCH=x86-64-v3  override -march=native (portable images)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const HINT = 'install a C++ toolchain and OpenBLAS (Debian/Ubuntu: apt-get install libopenblas-dev g++ make python3), then run `npm run build:addon -w @hessian/native`';

function warn(msg) {
  process.stderr.write(`\n@hessian/native: WARNING: ${msg}\n@hessian/native: the 'native' TensorFlow.js backend will be unavailable (tfjs 'cpu' still works); ${HINT}\n\n`);
}

if (process.env.HESSIAN_NATIVE_SKIP_BUILD) {
  warn('HESSIAN_NATIVE_SKIP_BUILD is set; addon not built.');
  process.exit(0);
}

function findNodeGyp() {
  // npm sets npm_config_node_gyp for lifecycle scripts; otherwise use npm's bundled copy.
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch { /* not installed locally */ }
  const npmDirs = [join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm'), '/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm', '/usr/share/nodejs/npm'];
  for (const d of npmDirs) candidates.push(join(d, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => c && existsSync(c));
}

const headerCandidates = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h', '/usr/local/include/cblas.h'];
if (!headerCandidates.some((p) => existsSync(p))) {
  warn('OpenBLAS headers (cblas.h) not found.');
  process.exit(0);
}
const gyp = findNodeGyp();
if (!gyp) {
  warn('node-gyp not found (it ships with npm).');
  process.exit(0);
}
// Build offline against the headers of the running Node when they are installed
// (Debian's nodejs, official tarballs); otherwise node-gyp downloads them.
const args = [gyp, 'rebuild'];
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const r = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) {
  warn(`node-gyp rebuild failed (exit ${r.status ?? r.signal}).`);
  process.exit(0);
}
process.stderr.write('@hessian/native: addon built (build/Release/hessian_native.node)\n');
