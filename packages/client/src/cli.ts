#!/usr/bin/env node
/**
 * hessctl: the command line. Each command lives in commands/; this file dispatches, prints
 * help, and turns errors into exit codes: a UserError prints its one sentence and exits 2
 * (no stack trace), anything else is a bug and exits 1 with the stack.
 */
import { isUserError } from '@hessian/linalg';
import { TOOL } from '@hessian/analysis/spec';
import { helpText, type Command } from './flags.js';

interface Entry {
  command: Command;
  run: (argv: string[]) => Promise<number>;
  /** Help of a command with subcommands (`hessctl cluster up --help`). */
  help?: (rest: string[]) => string;
}

/**
 * The commands, each loaded when it is named: a command module brings what it computes with
 * (TensorFlow.js and the engine for analyze, models, train and sweep; gRPC and the wire
 * protocol for the cluster's commands), and `hessctl jobs` need not wait for TensorFlow.js
 * (about half of a start). The names here must be the modules' own (a test checks).
 */
const COMMANDS: { name: string; load: () => Promise<Entry> }[] = [
  { name: 'analyze', load: async () => ({ command: (await import('./commands/analyze.js')).analyzeCommand, run: (await import('./commands/analyze-run.js')).analyze }) },
  { name: 'models', load: async () => import('./commands/models.js').then((m) => ({ command: m.modelsCommand, run: m.models })) },
  { name: 'inspect', load: async () => import('./commands/models.js').then((m) => ({ command: m.inspectCommand, run: m.inspect })) },
  { name: 'submit', load: async () => import('./commands/submit.js').then((m) => ({ command: m.submitCommand, run: m.submit })) },
  { name: 'watch', load: async () => import('./commands/watch.js').then((m) => ({ command: m.watchCommand, run: m.watch })) },
  { name: 'get', load: async () => import('./commands/get.js').then((m) => ({ command: m.getCommand, run: m.get })) },
  { name: 'cancel', load: async () => import('./commands/cancel.js').then((m) => ({ command: m.cancelCommand, run: m.cancel })) },
  { name: 'jobs', load: async () => import('./commands/jobs.js').then((m) => ({ command: m.jobsCommand, run: m.jobs })) },
  { name: 'workers', load: async () => import('./commands/workers.js').then((m) => ({ command: m.workersCommand, run: m.workers })) },
  { name: 'upload-model', load: async () => import('./commands/upload-model.js').then((m) => ({ command: m.uploadModelCommand, run: m.uploadModel })) },
  { name: 'cluster', load: async () => import('./commands/cluster.js').then((m) => ({ command: m.clusterCommand, run: m.cluster, help: (rest: string[]) => m.clusterHelp(rest, helpText) })) },
  { name: 'train', load: async () => import('./commands/train.js').then((m) => ({ command: m.trainCommand, run: m.trainCmd })) },
  { name: 'sweep', load: async () => import('./commands/sweep.js').then((m) => ({ command: m.sweepCommand, run: m.sweepCmd })) },
];

/** Every command loaded, in the table's order (the main help lists them all). */
async function loadCommands(): Promise<Entry[]> {
  return Promise.all(COMMANDS.map((c) => c.load()));
}

async function find(name: string | undefined): Promise<Entry | undefined> {
  return COMMANDS.find((c) => c.name === name)?.load();
}

function mainHelp(commands: Entry[]): string {
  const w = Math.max(...commands.map((c) => c.command.name.length)) + 2;
  return [
    `hessctl ${TOOL.version}: layerwise Hessian eigenvalues, traces and eigenvalue densities of neural networks (arXiv:2012.03801)`,
    '',
    'Usage: hessctl COMMAND [flags]      hessctl COMMAND --help for its flags',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.command.name.padEnd(w)}${c.command.summary}`),
    '',
    'Example: hessctl analyze --model zoo:lenet --data fashion-mnist:train[0:1000] --out reports/lenet',
    '',
    'On a cluster: hessctl cluster up --workers 2, then export HESSIAN_SERVER=127.0.0.1:7070 and analyze, submit, watch, get, cancel, jobs, workers',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const sub = name === 'help' ? await find(rest[0]) : undefined;
    process.stdout.write(sub ? (sub.help ? sub.help(rest.slice(1)) : helpText(sub.command)) : mainHelp(await loadCommands()));
    return 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${TOOL.version}\n`);
    return 0;
  }
  const entry = await find(name);
  if (!entry) {
    process.stderr.write(`hessctl: unknown command "${name}"; commands are ${COMMANDS.map((c) => c.name).join(', ')} (see hessctl --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(entry.help ? entry.help(rest.filter((a) => a !== '--help' && a !== '-h')) : helpText(entry.command));
    return 0;
  }
  try {
    return await entry.run(rest);
  } catch (e) {
    if (isUserError(e)) {
      // On a terminal, clear a progress bar the error interrupted; never a blank line before the sentence.
      process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}hessctl: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

// grpc-js sends the host as the TLS server name (SNI) even when --server is an IP address, and
// Node then warns (DEP0123) on every command. Verification is unaffected (the certificate's IP
// SAN is checked), so hessctl drops that one warning and keeps every other.
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
  const o = rest[0];
  const code = typeof o === 'object' && o !== null && 'code' in o ? o.code : rest[1];
  if (code === 'DEP0123') return;
  (emitWarning as (...args: unknown[]) => void).apply(this, [warning, ...rest]);
} as typeof process.emitWarning;

// `hessctl watch ID | head`: a closed pipe ends the command quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`hessctl: internal error (please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 1;
});
