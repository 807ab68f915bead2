#!/usr/bin/env node
/**
 * hessctl: the command line. Each command lives in commands/; this file dispatches, prints
 * help, and turns errors into exit codes: a UserError prints its one sentence and exits 2
 * (no stack trace), anything else is a bug and exits 1 with the stack.
 */
import { isUserError } from '@hessian/linalg';
import { TOOL } from '@hessian/analysis';
import { helpText, type Command } from './flags.js';
import { analyzeCommand } from './commands/analyze.js';
import { analyze } from './commands/analyze-run.js';
import { inspect, inspectCommand, models, modelsCommand } from './commands/models.js';
import { submit, submitCommand } from './commands/submit.js';
import { watch, watchCommand } from './commands/watch.js';
import { get, getCommand } from './commands/get.js';
import { cancel, cancelCommand } from './commands/cancel.js';
import { jobs, jobsCommand } from './commands/jobs.js';
import { workers, workersCommand } from './commands/workers.js';
import { uploadModel, uploadModelCommand } from './commands/upload-model.js';
import { cluster, clusterCommand, clusterHelp } from './commands/cluster.js';
import { trainCmd, trainCommand } from './commands/train.js';
import { sweepCmd, sweepCommand } from './commands/sweep.js';

interface Entry {
  command: Command;
  run: (argv: string[]) => Promise<number>;
  /** Help of a command with subcommands (`hessctl cluster up --help`). */
  help?: (rest: string[]) => string;
}

const COMMANDS: Entry[] = [
  { command: analyzeCommand, run: analyze },
  { command: modelsCommand, run: models },
  { command: inspectCommand, run: inspect },
  { command: submitCommand, run: submit },
  { command: watchCommand, run: watch },
  { command: getCommand, run: get },
  { command: cancelCommand, run: cancel },
  { command: jobsCommand, run: jobs },
  { command: workersCommand, run: workers },
  { command: uploadModelCommand, run: uploadModel },
  { command: clusterCommand, run: cluster, help: (rest) => clusterHelp(rest, helpText) },
  { command: trainCommand, run: trainCmd },
  { command: sweepCommand, run: sweepCmd },
];

function mainHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.command.name.length)) + 2;
  return [
    `hessctl ${TOOL.version}: layerwise Hessian eigenvalues, traces and eigenvalue densities of neural networks (arXiv:2012.03801)`,
    '',
    'Usage: hessctl COMMAND [flags]      hessctl COMMAND --help for its flags',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.command.name.padEnd(w)}${c.command.summary}`),
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
    const sub = name === 'help' ? COMMANDS.find((c) => c.command.name === rest[0]) : undefined;
    process.stdout.write(sub ? (sub.help ? sub.help(rest.slice(1)) : helpText(sub.command)) : mainHelp());
    return 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${TOOL.version}\n`);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.command.name === name);
  if (!entry) {
    process.stderr.write(`hessctl: unknown command "${name}"; commands are ${COMMANDS.map((c) => c.command.name).join(', ')} (see hessctl --help)\n`);
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
