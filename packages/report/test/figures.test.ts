import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Report } from '@hessian/analysis';
import { esdFigure, similarityFigure, timeSeriesFigure, topEigenvalueFigure, traceFigure } from '../src/index.js';
import { fixtureReport, hostileReport } from './fixture.js';
import { xmlProblem } from './xml.js';

function all(r: Report): [string, string][] {
  return [
    ['esd', esdFigure(r)],
    ['esd-gn', esdFigure(r, 'gauss-newton')],
    ['esd-res', esdFigure(r, 'residual')],
    ['top', topEigenvalueFigure(r)],
    ['top-res', topEigenvalueFigure(r, 'residual')],
    ['trace', traceFigure(r)],
    ['trace-gn', traceFigure(r, 'gauss-newton')],
    ['similarity', similarityFigure(r)],
  ];
}

function check(name: string, svg: string): void {
  assert.equal(xmlProblem(svg), null, name);
  assert.ok(!svg.includes('NaN'), `${name}: NaN in markup`);
  assert.ok(!svg.includes('Infinity'), `${name}: Infinity in markup`);
  assert.ok(!svg.includes('undefined'), `${name}: undefined in markup`);
  assert.match(svg, /^<\?xml[^>]*>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+" font-family="sans-serif"/, name);
}

test('figures of the fixture are well-formed SVG without NaN', () => {
  for (const [name, svg] of all(fixtureReport())) check(name, svg);
});

test('figures of a hostile report (NaN, Infinity, empty arrays, markup in names) stay well-formed', () => {
  for (const [name, svg] of all(hostileReport())) check(name, svg);
  const esd = esdFigure(hostileReport());
  assert.ok(esd.includes('no density for: conv&lt;1&gt;&amp;co, fc1'));
});

test('ESD: one panel per layer with a density, the full network overlaid in each', () => {
  const r = fixtureReport();
  const svg = esdFigure(r);
  const panels = svg.match(/class="panel"/g) ?? [];
  assert.equal(panels.length, 3); // conv2, fc1, fc3 (conv1 lacks a density)
  for (const n of ['conv2 (Conv2D)', 'fc1 (Dense)', 'fc3 (Dense)']) assert.ok(svg.includes(n), n);
  assert.equal((svg.match(/stroke-dasharray="5 3"/g) ?? []).length, 3 + 1); // 3 panels + legend
  assert.ok(svg.includes('no density for: conv1'));
  assert.ok(svg.includes('density (log scale)'));
});

test('top eigenvalue and trace figures: a category per scope, full network first', () => {
  const r = fixtureReport();
  for (const svg of [topEigenvalueFigure(r), traceFigure(r)]) {
    const iFull = svg.indexOf('>full network<');
    assert.ok(iFull > 0);
    for (const n of ['conv1', 'conv2', 'fc1', 'fc3']) assert.ok(svg.indexOf(`>${n}<`) > iFull, n);
  }
  // 142.7 .. 8.12: 1.2 decades, linear; the residual operator spans less too.
  assert.ok(topEigenvalueFigure(r).includes('>eigenvalue<'));
  // A report spanning > 2 decades gets a log axis.
  r.scopes[1].operators[0].top!.values = [0.05, 0.01, 0.001];
  assert.ok(topEigenvalueFigure(r).includes('eigenvalue (log scale)'));
});

test('missing data: figures say so instead of failing', () => {
  const r = fixtureReport();
  for (const s of r.scopes) for (const o of s.operators) {
    delete o.density;
    delete o.similarity;
    delete o.top;
    delete o.trace;
    delete o.traceFromFullProbes;
  }
  for (const [name, svg] of all(r)) {
    check(name, svg);
    assert.ok(/no (density|eigenvalues|trace|similarity)/.test(svg), name);
  }
});

test('timeSeriesFigure', () => {
  const svg = timeSeriesFigure(
    [
      { label: 'fc1', x: [0, 5, 10, 15, 20], y: [300, 150, 90, 60, 55], yErr: [20, 10, 6, 5, 5] },
      { label: 'conv2', x: [0, 5, 10, 15, 20], y: [120, 80, 40, 30, NaN] },
    ],
    { title: 'Trace by epoch', xLabel: 'epoch', yLabel: 'trace', logY: true },
  );
  check('time series', svg);
  assert.ok(svg.includes('Trace by epoch') && svg.includes('>fc1<') && svg.includes('>conv2<'));
});
