import { test } from 'node:test';
import assert from 'node:assert/strict';
import { esdFigure, gapAtFloor, renderSweepMarkdown, sweepFigures, type SweepData } from '../src/index.js';
import { fixtureReport } from './fixture.js';
import { xmlProblem } from './xml.js';

/** A density on 9 grid points whose tails are the floor (zero density), peaking at `peak`. */
function esd(peak: number): { grid: number[]; logDensity: number[] } {
  return { grid: [0, 1, 2, 3, 4, 5, 6, 7, 8], logDensity: [-10, -10, -10, peak - 2, peak, peak - 1, -10, -10, -10] };
}

function fixtureSweep(): SweepData {
  const epochs = [0, 1, 3];
  const scope = (name: string, kind: 'full' | 'layer', k: number) => ({
    name,
    kind,
    depth: kind === 'full' ? null : k / 2,
    epochs,
    top: [10 * k + 5, 8 * k + 4, null],
    topResidual: [0.01, 0.02, null],
    trace: [100 * k + 7, 90 * k + 6, 80 * k + 5],
    traceStderr: [1.5, 1.25, 1],
    esd: [esd(1), esd(0.5), null],
  });
  return {
    run: '/tmp/runs/lenet-htr',
    analysis: fixtureReport().spec,
    epochs,
    scopes: [scope('full', 'full', 3), scope('conv1', 'layer', 1), scope('fc1', 'layer', 2)],
    failed: [{ epoch: 2, error: 'data: examples do not fit the model', cancelled: false }],
    seconds: 12.5,
  };
}

test('gapAtFloor: the repeated minimum (zero density) becomes gaps; a curve without a floor is unchanged', () => {
  const g = gapAtFloor([-10, -10, -3, -1, -3, -10]);
  assert.deepEqual(g.map((v) => (Number.isNaN(v) ? null : v)), [null, null, -3, -1, -3, null]);
  assert.deepEqual(gapAtFloor([-4, -2, -1, -3]), [-4, -2, -1, -3]);
});

test("sweep figures look like a report's: header and subtitle, \u00b1 2 SE, whole-epoch ticks, no line along the density floor", () => {
  const figs = sweepFigures(fixtureSweep());
  assert.deepEqual(figs.map(([f]) => f), ['top-eigenvalue.svg', 'trace.svg', 'esd-full.svg', 'esd-conv1.svg', 'esd-fc1.svg']);
  for (const [name, svg] of figs) {
    assert.equal(xmlProblem(svg), null, name);
    assert.ok(!svg.includes('NaN') && !svg.includes('+-'), name);
    assert.ok(svg.includes('run lenet-htr \u00b7 fashion-mnist:train[0:256]'), `${name}: subtitle`);
  }
  const [, top] = figs[0];
  const [, trace] = figs[1];
  assert.ok(trace.includes('mean \u00b1 2 SE'));
  // x ticks of the epoch axis: whole numbers only (0, 1, 2, 3), never 0.5.
  const ticks = (svg: string) => [...svg.matchAll(/<text [^>]*>([\d.]+)<\/text>/g)].map((m) => m[1]);
  assert.ok(!ticks(top).some((t) => t.includes('.')), `ticks ${ticks(top).join(' ')}`);
  assert.ok(ticks(top).includes('3'));
  // The ESD curves break where the density is zero: each curve is one run of 3 points, not 9 with flat tails.
  const [, esdFull] = figs[2];
  const paths = [...esdFull.matchAll(/<path d="(M[^"]*)"/g)].map((m) => m[1]).filter((d) => !d.includes('Z'));
  const curves = paths.filter((d) => (d.match(/[ML]/g) ?? []).length === 3);
  assert.ok(curves.length >= 2, `two epochs' curves of 3 points each, got ${paths.join(' / ')}`);
});

test("a report's ESD figure leaves the zero-density floor blank too", () => {
  const r = fixtureReport();
  for (const sc of r.scopes)
    for (const o of sc.operators) if (o.density) Object.assign(o.density, esd(1), { density: esd(1).logDensity.map((v) => 10 ** v) });
  const svg = esdFigure(r);
  const paths = [...svg.matchAll(/<path d="(M[^"]*)"/g)].map((m) => m[1]).filter((d) => !d.includes('Z'));
  const lengths = paths.map((d) => (d.match(/[ML]/g) ?? []).length);
  assert.ok(lengths.includes(3), `curves of 3 points (the floor left out), got ${lengths.join(', ')}`);
  assert.ok(!lengths.includes(9), 'no curve runs along the floor');
});

test('sweep report.md: what was analyzed, the series by epoch, the figures embedded, the failures named', () => {
  const s = fixtureSweep();
  const md = renderSweepMarkdown(s, sweepFigures(s).map(([f]) => f));
  assert.match(md, /^# Hessian spectrum during training: lenet-htr\n/);
  assert.match(md, /\| \*\*Checkpoints analyzed\*\* \| epochs 0, 1, 3 \|/);
  assert.match(md, /\| Scope \| epoch 0 \| epoch 1 \| epoch 3 \|/);
  assert.match(md, /\| conv1 \| 15\.00 \| 12\.00 \| \u2014 \|/);
  assert.match(md, /\| full \(network\) \| 307\.0 \u00b1 1\.5 \|/);
  for (const f of ['top-eigenvalue.svg', 'trace.svg', 'esd-conv1.svg']) assert.ok(md.includes(`](${f})`), f);
  assert.match(md, /epoch 2 \(failed: data: examples do not fit the model\)/);
  assert.ok(!md.includes('+-'));
});
