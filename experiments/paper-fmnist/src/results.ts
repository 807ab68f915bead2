/**
 * Gathers what --work holds (run states, sweep summaries; nothing is computed), tests the
 * claims and writes REPORT.md, results.json and the figures into --out. Runs at the end of
 * every invocation and alone with --report-only, so a partial protocol has a report too.
 */
import * as path from 'node:path';
import { writeFileAtomic } from '@hessian/report';
import { allClaims, type Claim, type RunResult } from './claims.js';
import { curvatureFigure, distanceFigure, testErrorFigure } from './figures.js';
import { CONFIGS, machine, PAPER, sweepEpochs, type Config, type Settings } from './protocol.js';
import { renderReport } from './report.js';
import { runStatus, trainSpecFor, type RunStatus } from './runs.js';
import { readSweep, type CheckpointSummary } from './sweeps.js';

export const RESULTS_SCHEMA = 'hessian-cluster/paper-fmnist/v2';

export interface RunRecord extends RunResult {
  dir: string;
  done: number;
  total: number;
  /** test error in % after each completed epoch */
  testError: number[];
  regSteps: number;
  trainSeconds: number;
  /** sweep epochs analyzed / wanted */
  swept: number[];
  sweepWanted: number[];
}

export interface Results {
  schema: typeof RESULTS_SCHEMA;
  createdAt: string;
  command: string;
  wallSeconds: number;
  settings: Settings;
  machine: ReturnType<typeof machine> & { nativeThreads: string | null };
  paper: typeof PAPER;
  /** one TrainSpec, for the record (seed 0 of SGD) */
  exampleSpec: unknown;
  status: { total: number; complete: number; started: number; sweepsDone: number; sweepsWanted: number; epochsDone: number; epochsWanted: number };
  runs: RunRecord[];
  claims: Claim[];
}

function record(S: Settings, st: RunStatus, sweep: Map<number, CheckpointSummary>): RunRecord {
  const wanted = sweepEpochs(S, st.config);
  const testError = st.metrics.map((m) => 100 * (1 - m.testAcc));
  return {
    config: st.config,
    seed: st.seed,
    complete: st.complete,
    finalTestError: st.complete ? testError[st.total - 1] : null,
    sweep: [...sweep.values()].filter((c) => wanted.includes(c.epoch)).sort((a, b) => a.epoch - b.epoch),
    dir: st.dir,
    done: st.done,
    total: st.total,
    testError,
    regSteps: st.metrics.reduce((a, m) => a + m.regSteps, 0),
    trainSeconds: st.trainSeconds,
    swept: wanted.filter((e) => sweep.has(e)),
    sweepWanted: wanted,
  };
}

export async function collect(S: Settings, argv: string[], wallSeconds: number): Promise<Results> {
  const runs: RunRecord[] = [];
  for (const seed of S.seeds)
    for (const config of S.configs) {
      const st = await runStatus(S, config, seed);
      runs.push(record(S, st, await readSweep(S, st.dir)));
    }
  const configs = CONFIGS.filter((c) => S.configs.includes(c)) as Config[];
  return {
    schema: RESULTS_SCHEMA,
    createdAt: new Date().toISOString(),
    // the command that continues the protocol (a --report-only invocation names the run it reports on)
    command: ['node', 'experiments/paper-fmnist/dist/src/main.js', ...argv.filter((a) => a !== '--report-only')].join(' '),
    wallSeconds,
    settings: S,
    machine: { ...machine(), nativeThreads: process.env.HESSIAN_NATIVE_THREADS ?? null },
    paper: PAPER,
    exampleSpec: trainSpecFor(S, configs[0], S.seeds[0]),
    status: {
      total: runs.length,
      complete: runs.filter((r) => r.complete).length,
      started: runs.filter((r) => r.done >= 0).length,
      sweepsDone: runs.reduce((a, r) => a + r.swept.length, 0),
      sweepsWanted: runs.reduce((a, r) => a + r.sweepWanted.length, 0),
      epochsDone: runs.reduce((a, r) => a + Math.max(0, r.done), 0),
      epochsWanted: runs.reduce((a, r) => a + r.total, 0),
    },
    runs,
    claims: allClaims(runs, configs),
  };
}

export async function writeReport(S: Settings, argv: string[], wallSeconds: number): Promise<Results> {
  const R = await collect(S, argv, wallSeconds);
  const files: [string, string][] = [
    ['test-error.svg', testErrorFigure(R)],
    ['trace.svg', curvatureFigure(R, 'trace')],
    ['top-eigenvalue.svg', curvatureFigure(R, 'top')],
    ['esd-distance-vs-depth.svg', distanceFigure(R)],
  ];
  for (const [f, svg] of files) await writeFileAtomic(path.join(S.out, f), svg);
  // Sweep ESD grids stay in the summaries under --work; results.json keeps the scalars.
  const slim = { ...R, runs: R.runs.map((r) => ({ ...r, sweep: r.sweep.map((c) => ({ ...c, scopes: c.scopes.map((s) => ({ ...s, esd: undefined })) })) })) };
  await writeFileAtomic(path.join(S.out, 'results.json'), JSON.stringify(slim, null, 1) + '\n');
  await writeFileAtomic(path.join(S.out, 'REPORT.md'), renderReport(R, files.map(([f]) => f)));
  return R;
}
