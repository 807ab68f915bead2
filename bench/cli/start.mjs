#!/usr/bin/env node
// How long hessctl takes to start, per command, for one or more builds side by side (alternating
// runs, so a busy machine slows every build alike). A build is a checkout's root with its dist/
// built; the first is this one. Prints a table, writes bench/results/cli-start.json.
//   node bench/cli/start.mjs [--runs 7] [--builds /path/to/other/checkout,...] [--out file.json]
// The cluster commands need no cluster here: `--help` and an unreachable `jobs` (connection refused).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, table } from '../lib/table.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : d);
const runs = Number(opt('runs', '7'));
const builds = [ROOT, ...opt('builds', '').split(',').filter(Boolean)];
const out = opt('out', join(ROOT, 'bench', 'results', 'cli-start.json'));
const commands = [['--version'], ['watch', '--help'], ['jobs', '--server', '127.0.0.1:1'], ['cluster', '--help'], ['--help'], ['models', '--help']];

const git = (dir, a) => spawnSync('git', a, { cwd: dir, encoding: 'utf8' }).stdout.trim();
const seconds = new Map(builds.map((b) => [b, commands.map(() => [])]));
const load0 = loadavg()[0];
for (let r = 0; r < runs; r++) {
  for (const [ci, args] of commands.entries()) {
    for (const b of builds) {
      const t0 = performance.now();
      spawnSync(process.execPath, [join(b, 'packages/client/dist/src/cli.js'), ...args], { stdio: 'ignore', env: { ...process.env, HESSIAN_SERVER: '', HESSIAN_TOKEN: '' } });
      seconds.get(b)[ci].push((performance.now() - t0) / 1000);
    }
  }
}
const rows = commands.map((args, ci) => [`hessctl ${args.join(' ')}`, ...builds.map((b) => median(seconds.get(b)[ci]))]);
table(`hessctl start, median of ${runs} (s); load ${load0.toFixed(2)} -> ${loadavg()[0].toFixed(2)}`, ['command', ...builds.map((b) => `${relative(ROOT, b) || 'this'} (${git(b, ['rev-parse', '--short', 'HEAD'])})`)], rows);
writeFileSync(out, JSON.stringify({
  bench: 'cli-start', date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length }, runs, loadBefore: load0, loadAfter: loadavg()[0],
  builds: builds.map((b) => ({ dir: b, commit: git(b, ['rev-parse', 'HEAD']) })),
  rows: commands.map((args, ci) => ({ command: args.join(' '), seconds: builds.map((b) => seconds.get(b)[ci]) })),
}, null, 2) + '\n');
console.log(`\nwrote ${relative(ROOT, out)}`);
