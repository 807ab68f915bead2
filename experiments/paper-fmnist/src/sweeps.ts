/**
 * The Hessian analysis of a run's checkpoints (0, every 5th, ..., the last), one checkpoint at
 * a time so an interrupted sweep resumes where it stopped: full network and every layer,
 * top eigenvalue (Lanczos), Hutchinson trace with its standard error, ESD (SLQ) and each
 * layer's ESD distance to the full network's, on a class-balanced subset of the training set
 * with the run's own preprocessing (`withRunPreprocessing`).
 *
 * WORK/sweeps/RUN-HASH/epoch-NNN.json          the checkpoint's summary (what the report needs, small)
 * WORK/sweeps/RUN-HASH/reports/epoch-NNN.json  the full analysis report (large; not committed)
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { normalizeSpec, runAnalysis, type AnalysisSpec, type PartialSpec, type Report } from '@hessian/analysis';
import { writeFileAtomic } from '@hessian/report';
import { checkpointName, listCheckpoints, readRunSpec, withRunPreprocessing } from '@hessian/training';
import { sweepEpochs, type Config, type Settings } from './protocol.js';
import { hash } from './runs.js';

export interface ScopeSummary {
  name: string;
  kind: 'full' | 'layer';
  depth: number | null;
  params: number;
  top: number | null;
  topResidual: number | null;
  trace: number | null;
  traceStderr: number | null;
  /** distance of this layer's ESD to the full network's (layers only) */
  wasserstein1: number | null;
  jensenShannon: number | null;
  /** the ESD, every k-th grid point (at most 101 points) */
  esd: { grid: number[]; logDensity: number[] } | null;
}

export interface CheckpointSummary {
  schema: 'hessian-cluster/paper-fmnist-checkpoint/v1';
  epoch: number;
  lossValue: number;
  examples: number;
  hvps: number;
  seconds: number;
  scopes: ScopeSummary[];
}

/** The analysis of every checkpoint, as given (hashed for the sweep folder's name). */
function partialAnalysis(S: Settings): Omit<PartialSpec, 'model'> {
  return {
    data: S.sweepData,
    perClass: S.sweepPerClass,
    layers: { select: 'all' },
    convention: S.convention,
    full: true,
    topK: { k: 1, method: 'lanczos', tol: 1e-3, maxIter: S.sweepLanczos },
    trace: { method: 'hutchinson', probes: S.sweepProbes, chunk: 10 },
    density: { runs: S.densityRuns, steps: S.sweepLanczos, preset: 'papyan', gridPoints: S.densityGrid },
    similarity: true,
    seed: 0,
  };
}

export function analysisFor(S: Settings): Omit<AnalysisSpec, 'model'> {
  const { model: _m, ...spec } = normalizeSpec({ ...partialAnalysis(S), model: S.model });
  void _m;
  return spec;
}

export function sweepDirFor(S: Settings, runDir: string): string {
  return path.join(S.work, 'sweeps', `${path.basename(runDir)}-${hash(partialAnalysis(S))}`);
}

function thin(a: number[], k: number): number[] {
  return a.filter((_, i) => i % k === 0 || i === a.length - 1);
}

export function summarize(epoch: number, r: Report): CheckpointSummary {
  return {
    schema: 'hessian-cluster/paper-fmnist-checkpoint/v1',
    epoch,
    lossValue: r.lossValue,
    examples: r.data.examples,
    hvps: r.totals.hvps,
    seconds: r.totals.seconds,
    scopes: r.scopes.map((s) => {
      const h = s.operators.find((o) => o.operator === 'hessian');
      const k = h?.density ? Math.max(1, Math.ceil(h.density.grid.length / 100)) : 1;
      return {
        name: s.name,
        kind: s.kind,
        depth: s.depth,
        params: s.params,
        top: h?.top ? h.top.values[0] : null,
        topResidual: h?.top ? h.top.residuals[0] : null,
        trace: h?.trace ? h.trace.mean : null,
        traceStderr: h?.trace ? h.trace.stderr : null,
        wasserstein1: h?.similarity?.wasserstein1 ?? null,
        jensenShannon: h?.similarity?.jensenShannon ?? null,
        esd: h?.density ? { grid: thin(h.density.grid, k), logDensity: thin(h.density.logDensity, k) } : null,
      };
    }),
  };
}

/** The summaries a run's sweep holds so far, by epoch (nothing is computed). */
export async function readSweep(S: Settings, runDir: string): Promise<Map<number, CheckpointSummary>> {
  const dir = sweepDirFor(S, runDir);
  const out = new Map<number, CheckpointSummary>();
  let names: string[] = [];
  try {
    names = await fs.readdir(dir);
  } catch {
    return out;
  }
  for (const n of names.filter((x) => /^epoch-\d+\.json$/.test(x)).sort()) {
    const s = JSON.parse(await fs.readFile(path.join(dir, n), 'utf8')) as CheckpointSummary;
    out.set(s.epoch, s);
  }
  return out;
}

/** Analyzes the run's sweep checkpoints that exist and have no summary yet; returns all summaries. */
export async function ensureSweep(S: Settings, config: Config, seed: number, runDir: string, log: (line: string) => void): Promise<Map<number, CheckpointSummary>> {
  const dir = sweepDirFor(S, runDir);
  const have = await readSweep(S, runDir);
  const cps = await listCheckpoints(runDir);
  const run = await readRunSpec(runDir);
  const base = analysisFor(S);
  const todo = sweepEpochs(S, config).filter((e) => !have.has(e) && cps.some((c) => c.epoch === e));
  if (todo.length) await fs.mkdir(path.join(dir, 'reports'), { recursive: true });
  for (const epoch of todo) {
    const cp = cps.find((c) => c.epoch === epoch)!;
    const spec = withRunPreprocessing({ ...base, model: path.join(cp.dir, 'model.json') }, run);
    const t0 = performance.now();
    const report = await runAnalysis(spec, { backend: S.backend as 'auto' });
    await writeFileAtomic(path.join(dir, 'reports', `${checkpointName(epoch)}.json`), JSON.stringify(report) + '\n');
    const sum = summarize(epoch, report);
    await writeFileAtomic(path.join(dir, `${checkpointName(epoch)}.json`), JSON.stringify(sum) + '\n');
    have.set(epoch, sum);
    const full = sum.scopes.find((s) => s.kind === 'full');
    log(`[sweep ${config} seed ${seed}] epoch ${epoch}: trace ${full?.trace?.toPrecision(4)} top ${full?.top?.toPrecision(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  return have;
}
