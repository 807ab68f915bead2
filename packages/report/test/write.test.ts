import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWritableDir, makeDirs, writeReportDir } from '../src/index.js';
import { fixtureReport } from './fixture.js';
import { xmlProblem } from './xml.js';

test('writeReportDir writes json, markdown and the figures; json round-trips', async () => {
  const root = await mkdtemp(join(tmpdir(), 'report-test-'));
  try {
    const dir = join(root, 'a', 'b');
    const r = fixtureReport();
    const paths = await writeReportDir(r, dir);
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, [...paths.map((p) => p.slice(dir.length + 1))].sort(), 'no leftover temporary files');
    for (const f of ['report.json', 'report.md', 'esd.svg', 'top-eigenvalue.svg', 'trace.svg', 'similarity.svg', 'esd-gauss-newton.svg', 'trace-residual.svg', 'top-eigenvalue-gauss-newton.svg'])
      assert.ok(names.includes(f), f);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')), r);
    const md = await readFile(join(dir, 'report.md'), 'utf8');
    for (const f of names.filter((n) => n.endsWith('.svg'))) {
      assert.ok(md.includes(`](${f})`), `report.md embeds ${f}`);
      const svg = await readFile(join(dir, f), 'utf8');
      assert.equal(xmlProblem(svg), null, f);
      assert.ok(!svg.includes('NaN'), f);
    }
    // Rewriting the same directory replaces the files.
    const again = await writeReportDir(r, dir);
    assert.deepEqual(again, paths);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('writeReportDir writes only the figures whose data exist', async () => {
  const root = await mkdtemp(join(tmpdir(), 'report-test-'));
  try {
    const r = fixtureReport();
    r.scopes = r.scopes.map((s) => ({ ...s, operators: s.operators.filter((o) => o.operator === 'hessian').map((o) => ({ ...o, density: undefined, similarity: undefined })) }));
    for (const s of r.scopes) for (const o of s.operators) {
      delete o.density;
      delete o.similarity;
    }
    const paths = await writeReportDir(r, root);
    const names = paths.map((p) => p.slice(root.length + 1)).sort();
    assert.deepEqual(names, ['report.json', 'report.md', 'top-eigenvalue.svg', 'trace.svg']);
    assert.deepEqual(JSON.parse(await readFile(join(root, 'report.json'), 'utf8')), r);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('makeDirs and checkWritableDir: nested folders are made; a file in the path and /proc are one sentence each, and /proc never loops', async () => {
  const root = await mkdtemp(join(tmpdir(), 'report-test-'));
  try {
    await checkWritableDir(join(root, 'x', 'y', 'z'));
    assert.deepEqual(await readdir(join(root, 'x', 'y', 'z')), [], 'the write check leaves nothing behind');
    await writeFile(join(root, 'afile'), 'not a folder');
    await assert.rejects(makeDirs(join(root, 'afile', 'sub')), { message: `${join(root, 'afile')} is a file, not a folder` });
    await assert.rejects(writeReportDir(fixtureReport(), join(root, 'afile', 'sub')), /is a file, not a folder/);
    // Node's recursive mkdir never returns here (ENOENT / EEXIST in turn); ours fails at once.
    if ((await stat('/proc').catch(() => null))?.isDirectory()) await assert.rejects(makeDirs('/proc/hessian-nope/x'), { message: 'cannot create the folder /proc/hessian-nope (ENOENT)' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
