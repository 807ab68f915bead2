/**
 * REPORT.md: the verdict per claim with its numbers first, then the test-error table beside
 * the paper's rows, the per-run status (complete, or how far it got), the settings beside the
 * authors', and the command that regenerates it.
 */
import { fmtInterval, isMiddleDepth } from './claims.js';
import { CONFIG_LABELS, modelName, paperRow, type Config } from './protocol.js';
import type { Results, RunRecord } from './results.js';
import { fmtDur } from './runs.js';
import { mean, meanInterval, sd } from './stats.js';

const f2 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
const sig = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toPrecision(3));

function errorTable(R: Results): string[] {
  const L = ['| config | runs complete | ours: mean ± sd (%) | 95% interval of the mean | per seed | paper | HTR steps per run |', '|---|---|---|---|---|---|---|'];
  for (const c of R.settings.configs) {
    const rs = R.runs.filter((r) => r.config === c);
    const fin = rs.filter((r) => r.complete).map((r) => r.finalTestError!);
    const i = meanInterval(fin);
    const p = paperRow(R.settings, c);
    L.push(
      `| ${CONFIG_LABELS[c].label} | ${fin.length} of ${rs.length} | ${fin.length > 1 ? `**${f2(mean(fin))} ± ${f2(sd(fin))}**` : fin.length ? `**${f2(fin[0])}** (one seed)` : '—'} | ${i.lo !== null ? `[${f2(i.lo)}, ${f2(i.hi)}]` : '—'} | ${rs
        .filter((r) => r.complete)
        .map((r) => `${r.seed}: ${f2(r.finalTestError)}`)
        .join(', ')} | ${p ? `${f2(p.mean)} ± ${f2(p.sd)}` : '— (not reported)'} | ${[...new Set(rs.filter((r) => r.complete).map((r) => r.regSteps))].join(', ') || '—'} |`,
    );
  }
  return L;
}

/** The plain-SGD baseline against the paper's: the gap, and whether the runs had converged (change over their last 10 epochs). */
function baselineNote(R: Results): string[] {
  const p = paperRow(R.settings, 'sgd');
  const rs = R.runs.filter((r) => r.config === 'sgd' && r.complete);
  if (!p || !rs.length) return [];
  const fin = rs.map((r) => r.finalTestError!);
  const k = Math.min(10, rs[0].testError.length - 1);
  const late = rs.map((r) => r.testError[r.testError.length - 1] - r.testError[r.testError.length - 1 - k]);
  return [
    `**Baseline.** Our plain SGD ends at ${f2(mean(fin))} % (${rs.length} seed(s)), ${f2(mean(fin) - p.mean)} points above the paper’s ${f2(p.mean)} % with the same network size, pipeline, batch, schedule and length; ` +
      `its test error changed by ${f2(mean(late))} points over the last ${k} epochs (${Math.abs(mean(late)) < 0.5 ? 'about flat at the last learning rate' : 'still moving'}).`,
    '',
  ];
}

function statusTable(R: Results): string[] {
  const L = ['| run | epochs | test error at the last epoch (%) | sweep checkpoints analyzed | training time |', '|---|---|---|---|---|'];
  const row = (r: RunRecord) =>
    `| ${r.config} seed ${r.seed} | ${r.done < 0 ? 'not started' : `${r.done} of ${r.total}${r.complete ? ' (complete)' : ''}`} | ${r.testError.length ? `${f2(r.testError[r.testError.length - 1])} (epoch ${r.testError.length})` : '—'} | ${r.swept.length} of ${r.sweepWanted.length}${r.swept.length ? ` (${r.swept.join(', ')})` : ''} | ${r.done >= 0 ? fmtDur(r.trainSeconds) : '—'} |`;
  for (const r of R.runs) L.push(row(r));
  return L;
}

function trendTable(R: Results): string[] {
  const L = ['| config | epoch | full-network trace (mean ± sd over seeds) | top eigenvalue | seeds |', '|---|---|---|---|---|'];
  for (const c of R.settings.configs as Config[]) {
    const epochs = [...new Set(R.runs.filter((r) => r.config === c).flatMap((r) => r.sweep.map((s) => s.epoch)))].sort((a, b) => a - b);
    for (const e of epochs) {
      const at = R.runs.filter((r) => r.config === c).map((r) => r.sweep.find((s) => s.epoch === e)?.scopes.find((s) => s.kind === 'full')).filter((s) => s !== undefined);
      const tr = at.map((s) => s.trace).filter((v): v is number => v !== null);
      const tp = at.map((s) => s.top).filter((v): v is number => v !== null);
      const ms = (xs: number[]) => (xs.length > 1 ? `${sig(mean(xs))} ± ${sig(sd(xs))}` : sig(mean(xs)));
      L.push(`| ${CONFIG_LABELS[c].short} | ${e} | ${ms(tr)} | ${ms(tp)} | ${at.length} |`);
    }
  }
  return L;
}

/** Each layer's ESD distance to the full network's, over seeds and trained swept checkpoints: the depth profile. */
function depthTable(R: Results): string[] {
  const cps = R.runs.flatMap((r) => r.sweep.filter((c) => c.epoch > 0));
  if (!cps.length) return ['No trained checkpoint has been analyzed yet.'];
  const layers = cps[0].scopes.filter((s) => s.kind === 'layer');
  const L = ['| layer | depth | middle half | W1 to full (mean ± sd) | JS to full | closest by W1 (of checkpoints) |', '|---|---|---|---|---|---|'];
  for (const l of layers) {
    const at = cps.map((c) => c.scopes.find((s) => s.name === l.name)).filter((s) => s !== undefined);
    const w = at.map((s) => s.wasserstein1).filter((v): v is number => v !== null);
    const j = at.map((s) => s.jensenShannon).filter((v): v is number => v !== null);
    const closest = cps.filter((c) => {
      const ls = c.scopes.filter((s) => s.kind === 'layer' && s.wasserstein1 !== null);
      return ls.length > 0 && ls.reduce((a, b) => (b.wasserstein1! < a.wasserstein1! ? b : a)).name === l.name;
    }).length;
    const ms = (xs: number[]) => (xs.length > 1 ? `${sig(mean(xs))} ± ${sig(sd(xs))}` : sig(mean(xs)));
    L.push(`| ${l.name} | ${f2(l.depth)} | ${l.depth !== null && isMiddleDepth(l.depth) ? 'yes' : 'no'} | ${ms(w)} | ${ms(j)} | ${closest} of ${cps.length} |`);
  }
  return L;
}

/** Parameters of the model, from any analyzed checkpoint's full-network scope (null before the first sweep). */
function modelParams(R: Results): number | null {
  for (const r of R.runs) for (const c of r.sweep) for (const s of c.scopes) if (s.kind === 'full') return s.params;
  return null;
}

function settingsTable(R: Results): string[] {
  const S = R.settings;
  const n = modelParams(R);
  return [
    '| | ours | authors (README and code, LeNet + FashionMNIST) |',
    '|---|---|---|',
    `| model | \`${S.model}\` (${n === null ? 'parameters: known after the first sweep' : `${n.toLocaleString('en-US')} parameters`}) | LeNet: conv 6@5x5 valid on 32x32, pool, conv 16@5x5, pool, 120-84-10, ReLU |`,
    `| data | \`${S.trainData}\` / \`${S.testData}\`; pad ${S.pad}, normalize ${S.normalize}, augment ${S.augment || 'none'} | pad 2 to 32x32, mean-std normalization, random flips, rotations up to 15° |`,
    `| epochs | ${S.epochs} (HTR middle: ${S.epochsMiddle}) | 30 (HTR middle: 40) |`,
    `| batch, lr, momentum | ${S.batchSize}, ${S.lr}, ${S.momentum} | 256, 0.01, (their optimizer’s; not checked) |`,
    `| lr schedule | ${S.schedule} | x0.25 at epochs 10 and 20 |`,
    `| L2 config | weight decay ${S.weightDecay} | 1e-4 |`,
    `| HTR | gamma ${S.gamma}, K=${S.htrProbes}, every ${S.htrFreq} steps from epoch index ${S.htrStart} (middle: ${S.htrStartMiddle}) | gamma 1e-3, K=10, every 50 steps from epoch 10 (middle: 20) |`,
    `| HTR blocks | all: every layer; middle: parameter tensors floor(n/4)..floor(3n/4), convention ${S.convention} | the same rule on their parameter list |`,
    `| seeds | ${S.seeds.join(', ')} (init, order, augmentation, probes) | 3 reruns |`,
    `| Hessian analysis | checkpoints 0, every ${S.sweepEvery}th, last; \`${S.sweepData}\` per-class ${S.sweepPerClass}; top-1 Lanczos ≤ ${S.sweepLanczos} steps, ${S.sweepProbes} Hutchinson probes, SLQ ${S.densityRuns}x${S.sweepLanczos} | PyHessian on 10 examples per class |`,
  ];
}

export function renderReport(R: Results, figures: string[]): string {
  const S = R.settings;
  const st = R.status;
  const L: string[] = [];
  L.push(`# ${modelName(S.model)} on Fashion-MNIST: the claims of arXiv:2012.03801 tested (preset \`${S.preset}\`)${S.preset === 'quick' ? ' — QUICK smoke run: its numbers mean nothing' : ''}`);
  L.push('');
  L.push(`Regenerate (resumes training and analysis where they stopped; \`--report-only\` rewrites this file from what \`--work\` holds):`);
  L.push('');
  L.push('```sh');
  L.push('npx tsc -b');
  L.push(`HESSIAN_NATIVE_THREADS=1 nice -n 19 ${R.command}`);
  L.push(`${R.command} --report-only`);
  L.push('```');
  L.push('');
  L.push('In the background beside other work, start it with `setsid` and lower its autogroup (README.md says how and why).');
  L.push('');
  L.push(
    `**Progress: ${st.complete} of ${st.total} runs complete, ${st.started} started (${st.epochsDone} of ${st.epochsWanted} epochs trained); ${st.sweepsDone} of ${st.sweepsWanted} sweep checkpoints analyzed.** ` +
      `Generated ${R.createdAt.slice(0, 16).replace('T', ' ')} UTC on ${R.machine.cpus}x ${R.machine.cpuModel}, Node ${R.machine.node}, backend ${S.backend}.`,
  );
  L.push('');
  L.push('## Verdicts');
  L.push('');
  L.push('Each claim is a test with a 95% t-interval over seeds (paired by seed where two configs are compared); the rules are in `src/claims.ts`. *Undecided* means the interval is too wide or the runs are not there yet.');
  L.push('');
  L.push('| claim | paper | verdict | numbers |');
  L.push('|---|---|---|---|');
  for (const c of R.claims) L.push(`| ${c.claim} | ${c.paper} | **${c.verdict}** | ${c.why} |`);
  L.push('');
  L.push('## Test error (%), final epoch, complete runs');
  L.push('');
  L.push(...errorTable(R));
  L.push('');
  const diffs = R.claims.filter((c) => c.id.startsWith('error-'));
  if (diffs.length) {
    L.push('Paired differences (same seed: same initial weights, data order, augmentation):');
    L.push('');
    for (const c of diffs) for (const [k, v] of Object.entries(c.numbers)) L.push(`- ${k}: ${fmtInterval(v)} points`);
    L.push('');
  }
  if (figures.includes('test-error.svg')) L.push('![test error](test-error.svg)', '');
  L.push(...baselineNote(R));
  L.push('## Runs: complete, or how far they got');
  L.push('');
  L.push(...statusTable(R));
  L.push('');
  L.push('## Curvature at the swept checkpoints (full network)');
  L.push('');
  L.push(...trendTable(R));
  L.push('');
  for (const f of ['trace.svg', 'top-eigenvalue.svg']) if (figures.includes(f)) L.push(`![${f.replace('.svg', '')}](${f})`, '');
  L.push('## ESD distance to the full network by depth (all configs, seeds and trained swept checkpoints)');
  L.push('');
  L.push(...depthTable(R));
  L.push('');
  if (figures.includes('esd-distance-vs-depth.svg')) L.push('![esd distance vs depth](esd-distance-vs-depth.svg)', '');
  L.push('## Settings');
  L.push('');
  L.push(...settingsTable(R));
  L.push('');
  L.push('## Files');
  L.push('');
  L.push(`\`results.json\` (schema \`${R.schema}\`): every number above, per-epoch test error of every run, the sweep summaries without ESD grids, settings, machine. The run folders (run.json, checkpoints) and the sweep summaries are under \`${S.work}\`.`);
  L.push('');
  return L.join('\n');
}
