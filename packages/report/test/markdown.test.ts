import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMarkdown } from '../src/index.js';
import { fixtureReport, hostileReport } from './fixture.js';

const FIGS = ['esd.svg', 'top-eigenvalue.svg', 'trace.svg', 'similarity.svg', 'esd-gauss-newton.svg', 'trace-residual.svg'];

test('markdown: every figure embedded, tables, how to read, method, exact spec', () => {
  const r = fixtureReport();
  const md = renderMarkdown(r, FIGS);
  for (const f of FIGS) assert.match(md, new RegExp(`!\\[[^\\]]*\\]\\(${f.replace('.', '\\.')}\\)`), f);
  for (const s of r.scopes) assert.ok(md.includes(`| ${s.kind === 'full' ? 'full (network)' : s.name} |`), s.name);
  for (const s of ['313.4 \u00b1 9.6', '142.7 (0.014)', '0.412', '0.0871', '## How to read', 'Ritz', 'W1', 'Jensen-Shannon', '## Method', 'lanczos, k = 3', '100 probes', '3 Lanczos run(s) of 30 steps', '<details>'])
    assert.ok(md.includes(s), s);
  assert.ok(md.includes('## Gauss-Newton G') && md.includes('## Residual R'));
  const json = /```json\n([\s\S]*?)\n```/.exec(md);
  assert.ok(json);
  assert.deepEqual(JSON.parse(json[1]), r.spec);
  // table rows have the header's column count
  const rows = md.split('\n').filter((l) => l.startsWith('| full (network) |'));
  assert.ok(rows.length >= 3);
});

test('markdown: hostile report escapes and never prints NaN', () => {
  const md = renderMarkdown(hostileReport(), []);
  assert.ok(!md.includes('NaN') && !md.includes('Infinity'));
  assert.ok(md.includes('conv&lt;1&gt;&co'));
  assert.ok(!md.includes('## Figures'));
});
