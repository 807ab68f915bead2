/**
 * Declarative flags: one table per command drives both the parser (node:util parseArgs)
 * and the --help text, so help can never disagree with what is accepted.
 */
import { UserError } from '@hessian/linalg';
import { parseArgs } from 'node:util';

export interface Flag {
  name: string;
  type: 'string' | 'boolean';
  /** Shown in help; also the value when absent (strings only). */
  default?: string;
  /** Placeholder in help, e.g. N, PATH. */
  arg?: string;
  help: string;
  short?: string;
  /** Documents that a negative value means something (`--metrics-port -1`). Any string flag takes `-N` as its value, so `--seed -1` gets the flag's own range sentence. */
  negative?: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: Flag[];
  examples?: string[];
  positionals?: boolean;
}

export type Values = Record<string, string | boolean | undefined>;

export function parseFlags(cmd: Command, argv: string[]): { values: Values; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of cmd.flags) options[f.name] = { type: f.type, ...(f.short ? { short: f.short } : {}) };
  // `--metrics-port -1`, `--seed -1`: a negative number after a string flag is its value, not a
  // short flag (parseArgs would say "ambiguous"); the flag's own check then names its range.
  const negative = new Set(cmd.flags.filter((f) => f.type === 'string').map((f) => f.name));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    const next = argv[i + 1];
    if (name !== null && !name.includes('=') && negative.has(name) && next !== undefined && /^-(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(next)) {
      args.push(`--${name}=${next}`);
      i++;
    } else args.push(argv[i]);
  }
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: cmd.positionals ?? false, strict: true });
    const out: Values = { ...values };
    for (const f of cmd.flags) if (out[f.name] === undefined && f.default !== undefined && f.type === 'string') out[f.name] = f.default;
    return { values: out, positionals };
  } catch (e) {
    // parseArgs' own text for an unknown flag quotes a "--" hint that reads as garbled: say it plainly, with the usage.
    const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(e instanceof Error ? e.message : '');
    if (unknown) throw new UserError(`unknown flag ${unknown[1]}; usage: ${cmd.usage} (see \`hessctl ${cmd.name} --help\`)`);
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UserError(`${msg.replace(/\.$/, '')}; see \`hessctl ${cmd.name} --help\``);
  }
}

export function helpText(cmd: Command): string {
  const lines = [`hessctl ${cmd.name}: ${cmd.summary}`, '', `Usage: ${cmd.usage}`, '', 'Flags:'];
  const left = cmd.flags.map((f) => `  ${f.short ? `-${f.short}, ` : ''}--${f.name}${f.type === 'string' ? ` ${f.arg ?? 'VALUE'}` : ''}`);
  const width = Math.min(34, Math.max(...left.map((l) => l.length)) + 2);
  cmd.flags.forEach((f, i) => {
    const def = f.default !== undefined ? ` (default: ${f.default})` : '';
    const text = `${f.help}${def}`;
    const pad = left[i].length >= width ? `\n${' '.repeat(width)}` : ' '.repeat(width - left[i].length);
    lines.push(`${left[i]}${pad}${wrap(text, 100 - width).join(`\n${' '.repeat(width)}`)}`);
  });
  if (cmd.examples?.length) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`));
  return lines.join('\n') + '\n';
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/)) {
    if (line && line.length + 1 + w.length > width) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out;
}

/** A flag whose value must be one of `options` (undefined when absent). */
export function choice<T extends string>(values: Values, name: string, options: readonly T[]): T | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (!options.includes(v as T)) throw new UserError(`--${name}: must be one of ${options.join(', ')}, got "${v}"`);
  return v as T;
}

/** The flags written on the command line (as opposed to defaults filled in by the parser). */
export function givenFlags(argv: string[]): Set<string> {
  return new Set(argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]));
}

/** Parses a flag as a whole number within bounds, with a sentence naming the flag. */
export function intFlag(values: Values, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const s = String(v).trim();
  if (!/^-?\d+$/.test(s)) throw new UserError(`--${name}: expected a whole number, got "${s}"`);
  const n = Number(s);
  if (n < min || n > max) throw new UserError(`--${name}: must be ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`}, got ${n}`);
  return n;
}

export function numFlag(values: Values, name: string, min: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(String(v).trim());
  if (!Number.isFinite(n) || String(v).trim() === '') throw new UserError(`--${name}: expected a number, got "${v}"`);
  if (n < min) throw new UserError(`--${name}: must be at least ${min}, got ${n}`);
  return n;
}
