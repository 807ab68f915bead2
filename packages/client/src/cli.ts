#!/usr/bin/env node
/**
 * hessctl: the command line. Each command lives in commands/; this file dispatches, prints
 * help, and turns errors into exit codes: a UserError prints its one sentence and exits 2
 * (no stack trace), anything else is a bug and exits 1 with the stack.
 */
import { isUserError } from '@hessian/linalg';
import { TOOL } from '@hessian/analysis';
import { helpText, type Command } from './flags.js';
import { analyze, analyzeCommand } from './commands/analyze.js';
import { inspect, inspectCommand, models, modelsCommand } from './commands/models.js';

interface Entry {
  command: Command;
  run: (argv: string[]) => Promise<number>;
}

const COMMANDS: Entry[] = [
  { command: analyzeCommand, run: analyze },
  { command: modelsCommand, run: models },
  { command: inspectCommand, run: inspect },
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
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const sub = name === 'help' ? COMMANDS.find((c) => c.command.name === rest[0]) : undefined;
    process.stdout.write(sub ? helpText(sub.command) : mainHelp());
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
    process.stdout.write(helpText(entry.command));
    return 0;
  }
  try {
    return await entry.run(rest);
  } catch (e) {
    if (isUserError(e)) {
      process.stderr.write(`\nhessctl: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`hessctl: internal error (please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 1;
});
