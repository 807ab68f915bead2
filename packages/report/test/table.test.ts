import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtMeanErr, fmtSig, renderTable } from '../src/index.js';
import { fixtureReport, hostileReport } from './fixture.js';

test('number formats', () => {
  assert.equal(fmtSig(142.7), '143');
  assert.equal(fmtSig(0.0871), '0.0871');
  assert.equal(fmtSig(45678.9), '45700');
  assert.equal(fmtSig(2.5e-5), '2.50e-5');
  assert.equal(fmtSig(1.5e7), '1.50e7');
  assert.equal(fmtSig(NaN), '\u2014');
  assert.equal(fmtSig(undefined), '\u2014');
  assert.equal(fmtMeanErr(313.4, 9.6), '313.4 \u00b1 9.6');
  assert.equal(fmtMeanErr(21.53, 0.87), '21.53 \u00b1 0.87');
  assert.equal(fmtMeanErr(12345.6, 234), '12350 \u00b1 230');
  assert.equal(fmtMeanErr(3.8, NaN), '3.80 \u00b1 \u2014');
});

test('table: header, every scope, the fixture numbers, one block per operator', () => {
  const r = fixtureReport();
  const t = renderTable(r);
  for (const s of ['zoo:lenet5', 'fashion-mnist:train[0:256]', 'cross-entropy', 'convention layer', 'backend native-cpu', 'seed 7', '61,706 params'])
    assert.ok(t.includes(s), s);
  for (const s of r.scopes) assert.ok(t.includes(s.name), s.name);
  for (const s of ['143', '38.5', '20.1', '8.12', '31.6', '118', '313.4 \u00b1 9.6', '21.53 \u00b1 0.87', '102.4 \u00b1 3.1', '0.412', '0.0871', '0.287', '1.93', '48,120'])
    assert.ok(t.includes(s), s);
  assert.ok(t.includes('Hessian H') && t.includes('Gauss-Newton G') && t.includes('Residual R'));
  assert.ok(t.includes('0.0513'), 'residual block similarity');
  // conv1 has no density/similarity: dashes
  const conv1 = t.split('\n').find((l) => l.startsWith('conv1'));
  assert.ok(conv1 && conv1.includes('\u2014'));
  // the full network row comes first in each block
  const lines = t.split('\n');
  const h = lines.findIndex((l) => l.startsWith('Hessian H'));
  assert.ok(lines[h + 3].startsWith('full (network)'));
  for (const l of lines) assert.ok([...l].length <= 120, `too wide (${[...l].length}): ${l}`);
  assert.ok(!t.includes('\x1b['), 'no colour by default');
  const c = renderTable(r, { color: true });
  assert.ok(c.includes('\x1b[1m'));
  assert.ok(t.includes('fashion-mnist:train[0:256]  (256 examples; Fashion-MNIST training images 0..255)'));
  // A description that only repeats the spec is not printed twice.
  const same = renderTable({ ...r, data: { ...r.data, description: r.data.spec } });
  assert.ok(same.includes('fashion-mnist:train[0:256]  (256 examples)'), same.split('\n').find((l) => l.includes('examples')));
});

test('table: columns align (the trace column ends at the same place in every row)', () => {
  const t = renderTable(fixtureReport());
  const lines = t.split('\n');
  const h = lines.findIndex((l) => l.startsWith('Hessian H'));
  const block = lines.slice(h + 1, h + 8).filter((l) => l.trim() !== '' && !l.startsWith('\u2500'));
  const ends = block.map((l) => [...l].length);
  assert.equal(new Set(ends).size, 1, ends.join(','));
});

test('table: hostile values give dashes, never NaN', () => {
  const t = renderTable(hostileReport());
  assert.ok(!t.includes('NaN') && !t.includes('Infinity'));
  assert.ok(t.includes('conv<1>&co'));
});
