import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decadeTicks, esc, fmtTick, lineChart, niceDomain, niceStep, niceTicks } from '../src/index.js';
import { n } from '../src/svg.js';
import { xmlProblem } from './xml.js';

test('niceTicks on known ranges', () => {
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 100, 3), [0, 50, 100]);
  assert.deepEqual(niceTicks(-3.2, 7.9), [0, 5]);
  assert.deepEqual(niceTicks(-1, 1), [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(niceTicks(0.001, 0.0047), [0.001, 0.002, 0.003, 0.004]);
  assert.deepEqual(niceTicks(95, 142.7), [100, 110, 120, 130, 140]);
  assert.deepEqual(niceTicks(1e6, 5e6), [1e6, 2e6, 3e6, 4e6, 5e6]);
  assert.equal(niceStep(0, 10), 2);
  assert.deepEqual(niceDomain(-3.2, 7.9), [-5, 10]);
  assert.deepEqual(niceDomain(0.13, 0.97), [0, 1]);
});

test('niceTicks are exact decimals (no 0.30000000000000004)', () => {
  for (const t of niceTicks(0.1, 0.9, 9)) assert.ok(String(t).length <= 4, String(t));
  assert.deepEqual(niceTicks(0.1, 0.3, 3), [0.1, 0.2, 0.3]);
});

test('niceTicks survives degenerate and non-finite ranges', () => {
  for (const [a, b] of [[5, 5], [0, 0], [NaN, 1], [NaN, NaN], [Infinity, -Infinity], [10, -10], [-1e-300, 1e-300]]) {
    const t = niceTicks(a, b);
    assert.ok(t.length >= 1 && t.length <= 12, `${a},${b}: ${t}`);
    assert.ok(t.every(Number.isFinite), `${a},${b}: ${t}`);
    assert.ok(niceDomain(a, b).every(Number.isFinite));
  }
  assert.deepEqual(niceTicks(10, 0), [0, 2, 4, 6, 8, 10]);
});

test('decade ticks for log axes', () => {
  assert.deepEqual(decadeTicks(-12, 2), [-12, -10, -8, -6, -4, -2, 0, 2]);
  assert.deepEqual(decadeTicks(-3, 1), [-3, -2, -1, 0, 1]);
  assert.deepEqual(decadeTicks(-40, 0, 5), [-40, -30, -20, -10, 0]);
});

test('tick labels', () => {
  assert.equal(fmtTick(0.2, 0.2), '0.2');
  assert.equal(fmtTick(100, 20), '100');
  assert.equal(fmtTick(-5, 5), '\u22125');
  assert.equal(fmtTick(2e6, 1e6), '2e6');
  assert.equal(fmtTick(2e-5, 1e-5), '2e-5');
  assert.equal(fmtTick(0, 1e-5), '0');
});

test('escaping and coordinates', () => {
  assert.equal(esc('a<b>&"c"'), 'a&lt;b&gt;&amp;&quot;c&quot;');
  assert.equal(n(NaN), '0');
  assert.equal(n(Infinity), '0');
  assert.equal(n(-0), '0');
  assert.equal(n(1.23456), '1.23');
});

test('lineChart: well-formed with error bars, log axis, empty and hostile data', () => {
  const ok = lineChart(
    [
      { label: 'trace <fc1>', x: [0, 1, 2, 3], y: [10, 100, 1000, 10000], yErr: [1, 5, 50, NaN] },
      { label: 'top & co', x: [0, 1, 2, 3], y: [1, NaN, Infinity, 3] },
    ],
    { title: 'a & b', xLabel: 'epoch', yLabel: 'value', logY: true },
  );
  const empty = lineChart([], { title: 'nothing', xLabel: 'x', yLabel: 'y' });
  const allBad = lineChart([{ label: 'bad', x: [NaN, 1], y: [1, NaN] }], { title: 't', xLabel: 'x', yLabel: 'y' });
  for (const svg of [ok, empty, allBad]) {
    assert.equal(xmlProblem(svg), null);
    assert.ok(!svg.includes('NaN') && !svg.includes('Infinity'));
    assert.match(svg, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
  }
  assert.ok(ok.includes('trace &lt;fc1&gt;') && ok.includes('top &amp; co'));
});

test('the XML check itself rejects broken markup', () => {
  assert.equal(xmlProblem('<svg><g></g></svg>'), null);
  assert.notEqual(xmlProblem('<svg><g></svg>'), null);
  assert.notEqual(xmlProblem('<svg><text>a & b</text></svg>'), null);
  assert.notEqual(xmlProblem('<svg><g x=1></g></svg>'), null);
  assert.notEqual(xmlProblem('<svg/><svg/>'), null);
});
