/** The files a data spec reads, for the data-root check: slices and preprocessing options are not part of a path. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataSpecFiles } from '../src/security.js';

test('dataSpecFiles: idx/npy paths without the slice or the ?pad=..,mean=..,std=.. options; none for other sources', () => {
  assert.deepEqual(dataSpecFiles('idx:/d/img.gz, /d/lbl.gz[0:100]'), ['/d/img.gz', '/d/lbl.gz']);
  assert.deepEqual(dataSpecFiles('npy:/d/x.npy,/d/y.npy[0:10]?pad=2,mean=0.5,std=0.25'), ['/d/x.npy', '/d/y.npy']);
  assert.deepEqual(dataSpecFiles('npy:/d/x.npy,/d/y.npy?pad=2'), ['/d/x.npy', '/d/y.npy']);
  assert.deepEqual(dataSpecFiles('npy:/d/x.npy,/d/what?.npy'), ['/d/x.npy', '/d/what?.npy'], 'a ? that is not options stays in the path');
  assert.deepEqual(dataSpecFiles('fashion-mnist:train?pad=2'), []);
});
