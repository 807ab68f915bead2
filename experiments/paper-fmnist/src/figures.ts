/**
 * The report's figures (SVG through @hessian/report's lineChart): test error per epoch, the
 * full network's trace and top eigenvalue per swept epoch, and each layer's ESD distance to
 * the full network's against depth; means over the seeds that got there, ± sample sd.
 */
import { lineChart, type LineChartSeries } from '@hessian/report';
import { CONFIG_LABELS, modelName, paperRow, type Config } from './protocol.js';
import type { Results } from './results.js';
import { mean, sd } from './stats.js';

function configsOf(R: Results): Config[] {
  return R.settings.configs;
}

/** Mean and sd of the values at each x (only x with at least one value). */
function byX(points: [number, number][]): { x: number[]; y: number[]; yErr: number[] } {
  const m = new Map<number, number[]>();
  for (const [x, y] of points) if (Number.isFinite(y)) m.set(x, [...(m.get(x) ?? []), y]);
  const xs = [...m.keys()].sort((a, b) => a - b);
  return { x: xs, y: xs.map((x) => mean(m.get(x)!)), yErr: xs.map((x) => sd(m.get(x)!)) };
}

export function testErrorFigure(R: Results): string {
  const series: LineChartSeries[] = [];
  for (const c of configsOf(R)) {
    const pts = R.runs.filter((r) => r.config === c).flatMap((r) => r.testError.map((e, i) => [i + 1, e] as [number, number]));
    if (pts.length) series.push({ label: `${CONFIG_LABELS[c].short} (ours)`, ...byX(pts), color: CONFIG_LABELS[c].color });
  }
  const last = Math.max(1, ...R.runs.map((r) => r.total));
  for (const c of configsOf(R)) {
    const p = paperRow(R.settings, c);
    if (p) series.push({ label: `${CONFIG_LABELS[c].short} (paper)`, x: [1, last], y: [p.mean, p.mean], color: CONFIG_LABELS[c].color, dash: '6 4', marker: 'none' });
  }
  return lineChart(series, {
    title: `${modelName(R.settings.model)} on Fashion-MNIST: test error (mean ± sd over the seeds that reached the epoch)`,
    subtitle: 'dashed: the paper’s final test error (authors’ README)',
    xLabel: 'epoch',
    yLabel: 'test error (%)',
  });
}

export function curvatureFigure(R: Results, q: 'trace' | 'top'): string {
  const series: LineChartSeries[] = [];
  for (const c of configsOf(R)) {
    const pts = R.runs
      .filter((r) => r.config === c)
      .flatMap((r) => r.sweep.map((s) => [s.epoch, s.scopes.find((x) => x.kind === 'full')?.[q] ?? NaN] as [number, number]))
      .filter(([, v]) => v > 0);
    if (pts.length) series.push({ label: CONFIG_LABELS[c].short, ...byX(pts), color: CONFIG_LABELS[c].color });
  }
  const what = q === 'trace' ? 'Hessian trace (Hutchinson)' : 'top Hessian eigenvalue (Lanczos)';
  return lineChart(series, {
    title: `Full network: ${what} at the swept checkpoints`,
    subtitle: `mean ± sd over seeds; ${R.settings.sweepData} per-class ${R.settings.sweepPerClass}, the run's preprocessing`,
    xLabel: 'epoch',
    yLabel: q === 'trace' ? 'trace' : 'lambda_max',
    logY: series.every((s) => s.y.every((v) => v > 0)),
  });
}

export function distanceFigure(R: Results): string {
  const series: LineChartSeries[] = [];
  for (const c of configsOf(R)) {
    const pts = R.runs
      .filter((r) => r.config === c)
      .flatMap((r) => r.sweep.filter((s) => s.epoch > 0))
      .flatMap((s) => s.scopes.filter((x) => x.kind === 'layer' && x.depth !== null && x.wasserstein1 !== null).map((x) => [x.depth!, x.wasserstein1!] as [number, number]));
    if (pts.length) series.push({ label: CONFIG_LABELS[c].short, ...byX(pts), color: CONFIG_LABELS[c].color });
  }
  return lineChart(series, {
    title: 'Wasserstein-1 distance of each layer’s ESD to the full network’s, by depth',
    subtitle: 'mean ± sd over seeds and trained swept checkpoints; 0 = first layer, 1 = last',
    xLabel: 'normalized depth',
    yLabel: 'W1 to full network',
  });
}
