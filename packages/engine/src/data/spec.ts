/**
 * Data specs: one string names a data set and the range of it to use.
 *
 *   spec   := source [ '[' [START] ':' [END] ']' ] [ '?' option { ',' option } ]
 *   option := 'pad=' P | 'mean=' M | 'std=' S                   preprocessing (transform.ts)
 *   source := 'fashion-mnist:' ('train' | 'test' | 't10k')   the installed Fashion-MNIST split
 *           | 'idx:' IMAGES_PATH ',' LABELS_PATH              two IDX files (each plain or .gz)
 *           | 'npy:' X_PATH ',' Y_PATH                        two NumPy .npy files (each plain or .gz)
 *           | 'synthetic:' N                                  N generated examples (see synthetic.ts)
 *
 * The slice is Python-like and half-open: `[0:256]` is examples 0..255, `[:256]` starts at 0,
 * `[1000:]` runs to the end, no slice means the whole set. Unlike Python, indices must be
 * non-negative, the slice must not be empty or reversed, and an end past the size of the set
 * is an error rather than being clamped (checked when the set is loaded and its size is known).
 * Paths are taken literally (relative ones against the working directory); exactly one comma
 * separates the two paths, so a path may not contain a comma. Whitespace around the spec and
 * around the paths is ignored. Parsing is pure: it reads no files.
 */
import { UserError } from '@hessian/linalg';
import { parseTransform, splitTransform, type DataTransform } from './transform.js';

export type DataSourceSpec =
  | { kind: 'fashion-mnist'; split: 'train' | 'test' }
  | { kind: 'idx'; images: string; labels: string }
  | { kind: 'npy'; x: string; y: string }
  | { kind: 'synthetic'; n: number };

export interface ParsedDataSpec {
  source: DataSourceSpec;
  /** First example (inclusive); null when omitted (0). */
  start: number | null;
  /** End (exclusive); null when omitted (the size of the set). */
  end: number | null;
  /** Preprocessing after '?' (pad, normalization; see transform.ts); absent when none is given. */
  transform?: DataTransform;
}

export const DATA_SOURCES = ['fashion-mnist', 'idx', 'npy', 'synthetic'] as const;

const SLICE_RE = /\[([^[\]]*)\]$/;

function parseIndex(text: string, spec: string, which: 'start' | 'end'): number | null {
  const t = text.trim();
  if (t === '') return null;
  if (/^-\d+$/.test(t)) {
    throw new UserError(
      `Data spec "${spec}" has a negative slice ${which} ${t}; use indices from 0 up to the size of the set.`,
    );
  }
  if (!/^\d+$/.test(t)) {
    throw new UserError(`Data spec "${spec}" has a slice ${which} "${t}" that is not a whole number; write the slice as [START:END], e.g. [0:256].`);
  }
  const v = Number(t);
  if (!Number.isSafeInteger(v)) {
    throw new UserError(`Data spec "${spec}" has a slice ${which} ${t} that is too large; use an index within the size of the set.`);
  }
  return v;
}

function parsePair(body: string, spec: string, prefix: 'idx' | 'npy'): [string, string] {
  const parts = body.split(',');
  const what = prefix === 'idx' ? 'IMAGES_PATH,LABELS_PATH' : 'X_PATH,Y_PATH';
  if (parts.length !== 2 || parts[0].trim() === '' || parts[1].trim() === '') {
    throw new UserError(
      `Data spec "${spec}" must name two files separated by one comma, as ${prefix}:${what}[START:END] (paths may not contain commas).`,
    );
  }
  return [parts[0].trim(), parts[1].trim()];
}

/** Parses a data spec (see the grammar above); throws UserError('INVALID_ARGUMENT') on bad syntax. */
export function parseDataSpec(spec: string): ParsedDataSpec {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new UserError(`The data spec is empty; name a data set such as fashion-mnist:train[0:256] or synthetic:256.`);
  }
  const whole = spec.trim();
  const split = splitTransform(whole);
  const transform = split.options === null ? undefined : parseTransform(split.options, whole);
  const s = split.body;
  let body = s;
  let start: number | null = null;
  let end: number | null = null;
  const m = SLICE_RE.exec(s);
  if (m) {
    const inner = m[1];
    const colon = inner.split(':');
    if (colon.length !== 2) {
      throw new UserError(`Data spec "${s}" has a malformed slice [${inner}]; write it as [START:END] with either end optional, e.g. [0:256] or [1000:].`);
    }
    start = parseIndex(colon[0], s, 'start');
    end = parseIndex(colon[1], s, 'end');
    if (end !== null && end <= (start ?? 0)) {
      throw new UserError(`Data spec "${s}" selects an empty or reversed slice; make END greater than START.`);
    }
    body = s.slice(0, m.index).trim();
  } else if (/\[[\d\s:-]*$/.test(s)) {
    throw new UserError(`Data spec "${s}" has an unclosed slice; write it as [START:END], e.g. [0:256].`);
  }

  const colonAt = body.indexOf(':');
  const prefix = colonAt < 0 ? body : body.slice(0, colonAt);
  const rest = colonAt < 0 ? '' : body.slice(colonAt + 1).trim();
  let source: DataSourceSpec;
  switch (prefix.trim().toLowerCase()) {
    case 'fashion-mnist': {
      const split = rest.toLowerCase();
      if (split === 'train') source = { kind: 'fashion-mnist', split: 'train' };
      else if (split === 'test' || split === 't10k') source = { kind: 'fashion-mnist', split: 'test' };
      else {
        throw new UserError(
          `Data spec "${s}" needs a Fashion-MNIST split; write fashion-mnist:train or fashion-mnist:test${rest === '' ? '' : ` instead of "${rest}"`}.`,
        );
      }
      break;
    }
    case 'idx': {
      const [images, labels] = parsePair(rest, s, 'idx');
      source = { kind: 'idx', images, labels };
      break;
    }
    case 'npy': {
      const [x, y] = parsePair(rest, s, 'npy');
      source = { kind: 'npy', x, y };
      break;
    }
    case 'synthetic': {
      if (/^-\d+$/.test(rest) || rest === '0' || /^0+$/.test(rest)) {
        throw new UserError(`Data spec "${s}" asks for ${rest} synthetic examples; give a positive count, e.g. synthetic:256.`);
      }
      if (!/^\d+$/.test(rest) || !Number.isSafeInteger(Number(rest))) {
        throw new UserError(`Data spec "${s}" needs a whole number of synthetic examples; write synthetic:N, e.g. synthetic:256.`);
      }
      source = { kind: 'synthetic', n: Number(rest) };
      break;
    }
    default:
      throw new UserError(
        `Data spec "${s}" has an unknown source "${prefix}"; start it with one of ${DATA_SOURCES.map((p) => `${p}:`).join(', ')}.`,
      );
  }
  return transform ? { source, start, end, transform } : { source, start, end };
}

/** The spec of a source without a slice, as written back in descriptions. */
export function formatSource(src: DataSourceSpec): string {
  switch (src.kind) {
    case 'fashion-mnist':
      return `fashion-mnist:${src.split}`;
    case 'idx':
      return `idx:${src.images},${src.labels}`;
    case 'npy':
      return `npy:${src.x},${src.y}`;
    case 'synthetic':
      return `synthetic:${src.n}`;
  }
}
