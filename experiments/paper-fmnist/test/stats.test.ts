/**
 * The statistics against reference values (SciPy 1.x: stats.t.ppf, stats.t.cdf,
 * stats.ttest_1samp) and closed forms.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { incompleteBeta, logSlope, mean, meanInterval, paired, sd, spearman, tCdf, tQuantile, wilson } from '../src/stats.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

describe('t distribution', () => {
  test('quantiles and cdf equal SciPy’s', () => {
    close(tQuantile(0.975, 4), 2.7764451051977934, 1e-9, 't(0.975, 4)');
    close(tQuantile(0.975, 1), 12.706204736174694, 1e-8, 't(0.975, 1)');
    close(tQuantile(0.975, 10), 2.228138851986274, 1e-9, 't(0.975, 10)');
    close(tQuantile(0.95, 2.5), 2.5582186141359355, 1e-9, 't(0.95, 2.5)');
    close(tQuantile(0.025, 4), -2.7764451051977934, 1e-9, 't(0.025, 4)');
    close(tQuantile(0.975, 1e7), 1.959963984540054, 1e-5, 'normal limit');
    close(tCdf(-1.5, 3), 0.11529193262241147, 1e-12, 'cdf(-1.5, 3)');
    assert.equal(tCdf(0, 7), 0.5);
    assert.ok(Number.isNaN(tQuantile(1, 3)));
  });

  test('incomplete beta: I_x(1,1) = x, I_0.5(a,a) = 1/2, I_x(a,1) = x^a', () => {
    close(incompleteBeta(0.3, 1, 1), 0.3, 1e-14, 'uniform');
    close(incompleteBeta(0.5, 2.5, 2.5), 0.5, 1e-14, 'symmetric');
    close(incompleteBeta(0.7, 3, 1), 0.7 ** 3, 1e-14, 'power');
  });
});

describe('samples', () => {
  test('meanInterval of 1..5: SciPy’s t-test and the t-interval', () => {
    const i = meanInterval([1, 2, 3, 4, 5]);
    assert.equal(i.mean, 3);
    close(i.sd, Math.sqrt(2.5), 1e-15, 'sd');
    close(i.lo!, 3 - 2.7764451051977934 * Math.sqrt(0.5), 1e-9, 'lo');
    close(i.hi!, 3 + 2.7764451051977934 * Math.sqrt(0.5), 1e-9, 'hi');
    close(i.p!, 0.01323559956368269, 1e-10, 'p');
    const one = meanInterval([4]);
    assert.equal(one.lo, null);
    assert.equal(one.sd, 0);
    assert.ok(Number.isNaN(mean([])) && Number.isNaN(sd([])));
  });

  test('paired: differences over the seeds both have, in seed order', () => {
    const a = new Map([[0, 5.0], [1, 5.2], [2, 5.1], [3, 4.9], [4, 5.05], [9, 1]]);
    const b = new Map([[4, 5.6], [3, 5.7], [2, 5.7], [1, 5.9], [0, 5.5]]);
    const d = paired(a, b);
    assert.deepEqual(d.seeds, [0, 1, 2, 3, 4]);
    d.diffs.forEach((x, i) => close(x, [-0.5, -0.7, -0.6, -0.8, -0.55][i], 1e-12, `diff ${i}`));
    close(d.mean, -0.63, 1e-12, 'mean');
    close(d.lo!, -0.77951614469452, 1e-9, 'lo');
    close(d.p!, 0.0003052958599520746, 1e-9, 'p');
  });

  test('wilson: SciPy’s binomtest(...).proportion_ci(method="wilson") at k = 0 and k = n/2', () => {
    const a = wilson(0, 2)!;
    assert.equal(a.lo, 0);
    close(a.hi, 0.6576197724933469, 1e-9, 'hi of 0/2 (SciPy binomtest wilson)');
    const b = wilson(5, 10)!;
    close(b.lo, 0.236593090512564, 1e-9, 'lo of 5/10');
    close(b.hi, 0.7634069094874361, 1e-9, 'hi of 5/10');
    assert.equal(wilson(0, 0), null);
  });

  test('logSlope recovers an exponential rate; spearman of monotone and tied series', () => {
    const xs = [5, 10, 15, 20, 30];
    close(logSlope(xs, xs.map((x) => 2 * Math.exp(-0.1 * x))), -0.1, 1e-14, 'rate');
    assert.ok(Number.isNaN(logSlope([1], [2])));
    assert.equal(logSlope([1, 2, 3], [1, -1, -1]), NaN, 'one positive point');
    assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    close(spearman([1, 2, 3, 4], [1, 1, 2, 2]), 0.8944271909999159, 1e-12, 'ties');
  });
});
