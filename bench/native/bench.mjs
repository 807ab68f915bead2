#!/usr/bin/env node
// Times forward, gradient and HVP (double backprop) of the 784-256-128-10 MLP (batch 256) and
// LeNet-5 (batch 128), written with raw tfjs ops, per backend; prints a table and writes
// bench/results/native.json.
//   node bench/native/bench.mjs [--backends cpu,wasm,native] [--threads N] [--budget-ms 2000] [--out file.json]
// Build first: npx tsc -b packages/native (and the addon: npm run build:addon -w @hessian/native).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs's gradient configs (tfjs-core's node bundle lacks them)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import * as native from '@hessian/native';
import { mlpSpec, lenetSpec, instantiate, forward, gradient, hvp, dispose } from './models.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const backends = opt('backends', 'cpu,wasm,native').split(',');
const budgetMs = Number(opt('budget-ms', '2000'));
const threads = Number(opt('threads', process.env.HESSIAN_NATIVE_THREADS ?? '1'));
if (native.available) native.setThreads(threads);
native.registerSecondOrderGradients();

async function useBackend(name) {
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
  }
  if (name === 'native' && !native.available) throw new Error(native.reason);
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`setBackend(${name}) failed`);
  await tf.ready();
}

function time(fn) {
  const t0 = performance.now();
  tf.dispose(fn());
  const first = performance.now() - t0;
  const samples = [];
  if (first > 3000) return { ms: first, reps: 1 };
  const start = performance.now();
  while (samples.length < 50 && (performance.now() - start < budgetMs || samples.length < 3)) {
    const s = performance.now();
    tf.dispose(fn());
    samples.push(performance.now() - s);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)], reps: samples.length };
}

const specs = [mlpSpec(256), lenetSpec(128)];
const results = [];
for (const be of backends) {
  try {
    await useBackend(be);
  } catch (e) {
    for (const spec of specs) results.push({ backend: be, model: spec.name, error: `backend unavailable: ${e.message}` });
    continue;
  }
  for (const spec of specs) {
    const t = instantiate(spec);
    const row = { backend: be, model: spec.name };
    for (const [what, fn] of [['forward', forward], ['gradient', gradient], ['hvp', hvp]]) {
      try {
        const r = time(() => fn(spec, t));
        row[what] = Number(r.ms.toFixed(3));
        row[`${what}Reps`] = r.reps;
      } catch (e) {
        row[what] = null;
        row[`${what}Error`] = String(e.message).split('\n')[0];
      }
      process.stderr.write(`${be} ${spec.name} ${what}: ${row[what] ?? row[`${what}Error`]}\n`);
    }
    dispose(t);
    results.push(row);
  }
}

const fmt = (v) => (v == null ? 'n/a' : v >= 100 ? v.toFixed(0) : v.toFixed(2));
console.log(`\n${'model'.padEnd(26)}${'backend'.padEnd(9)}${'forward ms'.padStart(12)}${'gradient ms'.padStart(13)}${'HVP ms'.padStart(11)}`);
for (const r of results) {
  console.log(`${r.model.padEnd(26)}${r.backend.padEnd(9)}${fmt(r.forward).padStart(12)}${fmt(r.gradient).padStart(13)}${fmt(r.hvp).padStart(11)}` +
    (r.error ? `  ${r.error}` : r.gradientError || r.hvpError ? `  (${r.gradientError ?? r.hvpError})` : ''));
}
const out = {
  date: new Date().toISOString(),
  host: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
  nativeThreads: native.available ? native.threads() : null,
  nativeAvailable: native.available,
  unit: 'ms (median)',
  results,
};
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
mkdirSync(dir, { recursive: true });
const file = opt('out', join(dir, 'native.json'));
writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
console.log(`\nwrote ${file}`);
