#!/usr/bin/env node
/**
 * The reproduction of arXiv:2012.03801 on LeNet + Fashion-MNIST: trains every (config, seed),
 * sweeps each run's checkpoints through the Hessian analysis, tests the paper's claims and
 * writes REPORT.md, results.json and figures into --out. Resumable; see README.md here.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isUserError } from '@hessian/linalg';
import { HELP, parseSettings, type Config, type Settings } from './protocol.js';
import { writeReport } from './results.js';
import { ensureRun, fmtDur, pruneCheckpoints, runDirFor, runStatus } from './runs.js';
import { ensureSweep, readSweep } from './sweeps.js';

function log(line: string): void {
  process.stderr.write(line + '\n');
}

/** One job: train (or resume, or reuse) the run, then analyze its sweep checkpoints, then prune. */
async function job(S: Settings, config: Config, seed: number): Promise<void> {
  const dir = runDirFor(S, config, seed);
  const prune = async (): Promise<void> => {
    if (S.prune) await pruneCheckpoints(S, config, dir, new Set((await readSweep(S, dir)).keys()));
  };
  if (S.sweepOnly) {
    // beside a training process: only checkpoints that exist (readRunSpec fails for a run not started)
    if ((await runStatus(S, config, seed)).done >= 0) await ensureSweep(S, config, seed, dir, log);
    return;
  }
  await ensureRun(S, config, seed, log, prune);
  if (S.sweep) await ensureSweep(S, config, seed, dir, log);
  await prune();
}

function childArgs(argv: string[], config: Config, seed: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--child') i++;
    else if (!argv[i].startsWith('--child=')) out.push(argv[i]);
  }
  return [...out, '--child', `${config}:${seed}`];
}

async function runAll(S: Settings, argv: string[]): Promise<void> {
  // Seeds outside, configs inside: every finished seed completes a set of paired comparisons.
  const jobs = S.seeds.flatMap((seed) => S.configs.map((config) => ({ config, seed })));
  if (S.parallel <= 1) {
    for (const j of jobs) await job(S, j.config, j.seed);
    return;
  }
  let next = 0;
  const failures: string[] = [];
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...childArgs(argv, j.config, j.seed)], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
        child.on('error', () => resolve(1));
      });
      if (code !== 0) failures.push(`${j.config} seed ${j.seed} (exit ${code})`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(S.parallel, jobs.length) }, lane));
  if (failures.length) throw new Error(`failed: ${failures.join(', ')}; rerun the same command to resume`);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const S = parseSettings(argv);
  if (!S) {
    process.stdout.write(HELP);
    return 0;
  }
  if (S.child) {
    await job(S, S.child.config, S.child.seed);
    return 0;
  }
  const t0 = performance.now();
  await fs.mkdir(S.work, { recursive: true });
  await fs.mkdir(S.out, { recursive: true });
  log(`paper-fmnist (${S.preset}): ${S.configs.length} configs x ${S.seeds.length} seeds; work ${S.work}; out ${S.out}`);
  if (!S.reportOnly) await runAll(S, argv);
  const R = await writeReport(S, argv, (performance.now() - t0) / 1000);
  log(`wrote ${S.out}/REPORT.md: ${R.status.complete} of ${R.status.total} runs complete (${fmtDur((performance.now() - t0) / 1000)})`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (isUserError(e)) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
