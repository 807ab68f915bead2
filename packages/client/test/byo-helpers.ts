/**
 * Shared by byo-model.test.ts (embedded) and byo-cluster.test.ts (local cluster): hessctl as a
 * child process, the fixtures (PyTorch-exported .onnx with PyTorch's float64 numbers on 8
 * Fashion-MNIST test images in onnx/n8/, Keras files in keras/), and the comparison of a report
 * against PyTorch's numbers through the report's parameter map.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../../packages/engine/test/fixtures/', import.meta.url));
export const ONNX = join(FIXTURES, 'onnx');
export const KERAS = join(FIXTURES, 'keras');

export function hessctl(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HESSIAN_SERVER: '' }, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Torch {
  data: string;
  params: { name: string }[];
  full: { top: number; trace: number; traceSE?: number };
  layers: { module: string; params: string[]; top: number; trace: number; traceSE?: number }[];
}
export interface ReportJson {
  parameters?: { tensor: string; offset: number; size: number; origin: string; layout: string }[];
  scopes: { name: string; kind: string; tensors: string[]; operators: { top: { values: number[] }; trace: { mean: number; stderr: number; method: string } }[] }[];
}

/** Top-1 and a Hutchinson trace of every scope, on PyTorch's images; small budgets keep the file short. */
export const QUICK = ['--top-k', '1', '--eig-tol', '1e-6', '--trace-probes', '10', '--exact-max', '0', '--no-density', '--format', 'json', '-q'];

/** Without the seconds (they differ between runs): the numbers two reports must share. */
export function numbers(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(numbers);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'seconds').map(([k, v]) => [k, numbers(v)]));
  return x;
}

/** The report's scopes against PyTorch's float64 numbers, scope by scope through the report's parameter map. */
export function agreesWithTorch(report: ReportJson, ref: Torch, what: string): void {
  assert.ok(report.parameters, `${what}: the report maps our parameters to the state_dict`);
  assert.deepEqual(report.parameters.map((p) => p.origin).sort(), ref.params.map((p) => p.name).sort(), `${what}: every state_dict entry, once`);
  const origin = new Map(report.parameters.map((p) => [p.tensor, p.origin]));
  assert.equal(report.scopes.length, ref.layers.length + 1, `${what}: the full network and one scope per PyTorch module`);
  for (const s of report.scopes) {
    const names = s.tensors.map((t) => origin.get(t)).sort().join();
    const want = s.kind === 'full' ? ref.full : ref.layers.find((l) => [...l.params].sort().join() === names);
    assert.ok(want, `${what}: no PyTorch module holds ${names}`);
    const { top, trace } = s.operators[0];
    // a tiny block's top eigenvalue (BN scales ~1e-6) is held to 1e-4 of a thousandth of the full network's
    const scale = Math.max(Math.abs(want.top), 1e-3 * ref.full.top);
    assert.ok(Math.abs(top.values[0] - want.top) <= 1e-4 * scale, `${what} ${s.name}: top ${top.values[0]} vs PyTorch ${want.top}`);
    // within their errors: 4 combined standard errors (0 for exact traces, then 1e-4 relative)
    const se = Math.hypot(trace.stderr, want.traceSE ?? 0);
    assert.ok(Math.abs(trace.mean - want.trace) <= 4 * se + 1e-4 * Math.abs(want.trace), `${what} ${s.name}: trace ${trace.mean} ± ${trace.stderr} (${trace.method}) vs PyTorch ${want.trace} ± ${want.traceSE ?? 0}`);
  }
}

/** PyTorch's numbers for onnx/NAME.onnx on 8 images (bench/onnx/torch_reference.py --n 8 --exact-layer-max 1000). */
export const torch = (name: string) => JSON.parse(readFileSync(join(ONNX, 'n8', `${name}.json`), 'utf8')) as Torch;
/** LeNet-5 (softmax stripped), a ResNet with batch norm, a MobileNet-style depthwise block. */
export const MODELS = ['lenet', 'resnet', 'mobile'];

