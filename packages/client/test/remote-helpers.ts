/** What the hessctl-against-a-cluster tests share: running the CLI (sync and async), a closed port, a report's numbers without timings, a quick analysis's flags. */
import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
export const ENV = { ...process.env, HESSIAN_BACKEND: 'cpu', HESSIAN_SERVER: '' };

export function hessctl(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...ENV, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asynchronous, so an in-process server can answer. */
export function hessctlAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...ENV, ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

export async function closedPort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** A report's numbers without its timings (wall-clock seconds differ from run to run). */
export function numbers(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(numbers);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'seconds').map(([k, v]) => [k, numbers(v)]));
  return x;
}

export const QUICK = ['--model', 'zoo:tiny-mlp', '--data', 'synthetic:16', '--top-k', '2', '--trace-probes', '20', '--density-runs', '2', '--density-steps', '10'];
