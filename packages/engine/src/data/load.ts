/**
 * loadDataset: a data spec (spec.ts) plus options become a Dataset in memory. Sources are
 * opened by sources.ts (files decoded once per process by files.ts through file-cache.ts);
 * only the selected examples are converted to float32.
 */
import { UserError } from '@hessian/linalg';
import type { Dataset } from './batch.js';
import { formatSource, parseDataSpec } from './spec.js';
import { openSource, type DataOptions } from './sources.js';
import { applyTransform, formatTransform, transformBackground } from './transform.js';

export { DEFAULT_FASHION_MNIST_ROOT, FASHION_MNIST_CLASSES, type DataOptions } from './sources.js';

/**
 * Loads the examples a data spec names (see spec.ts for the syntax), as float32 NHWC inputs
 * and int32 labels. With opts.perClass = k, keeps the first k examples of each class within
 * the selected range, in their original order (deterministic, no seed). Every error a user
 * can cause is a UserError whose message says what to change.
 */
export async function loadDataset(spec: string, opts: DataOptions = {}): Promise<Dataset> {
  const parsed = parseDataSpec(spec);
  const { perClass } = opts;
  if (perClass !== undefined && (!Number.isInteger(perClass) || perClass < 1)) {
    throw new UserError(`Per-class count ${perClass} is invalid; give a positive whole number of examples per class, e.g. --per-class 10.`);
  }
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) {
    throw new UserError(`Data seed ${opts.seed} is invalid; give a whole number.`);
  }
  // With a slice end, IDX inputs decode only the examples before it (a prefix of the file).
  const src = await openSource(parsed.source, opts, parsed.end);
  const name = formatSource(parsed.source);
  const start = parsed.start ?? 0;
  const end = parsed.end ?? src.size;
  if (start >= src.size) {
    throw new UserError(
      `Slice [${start}:${parsed.end ?? ''}] starts past the end of ${name}, which has ${src.size} examples; use a start below ${src.size}.`,
    );
  }
  if (end > src.size) {
    throw new UserError(`Slice [${start}:${end}] is out of range for ${name}, which has ${src.size} examples; use an end of at most ${src.size}.`);
  }
  let description = `${name}[${start}:${end}]`;
  const options = parsed.transform ? formatTransform(parsed.transform) : '';
  if (options !== '') description += `?${options}`;

  let indices: Int32Array;
  if (perClass === undefined) {
    indices = new Int32Array(end - start);
    for (let i = 0; i < indices.length; i++) indices[i] = start + i;
  } else {
    const rangeLabels = src.labels(start, end);
    const counts = new Int32Array(src.numClasses);
    const picked: number[] = [];
    let full = 0;
    for (let i = 0; i < rangeLabels.length && full < src.numClasses; i++) {
      const c = rangeLabels[i];
      if (counts[c] < perClass) {
        counts[c]++;
        picked.push(start + i);
        if (counts[c] === perClass) full++;
      }
    }
    if (full < src.numClasses) {
      const short = Array.from(counts).findIndex((k) => k < perClass);
      const least = Math.min(...Array.from(counts));
      const label = src.classNames?.[short] ? `${short} (${src.classNames[short]})` : `${short}`;
      throw new UserError(
        `Class ${label} has only ${counts[short]} examples in ${description}, fewer than the ${perClass} per class asked for; ${least > 0 ? `lower per-class to at most ${least} or widen the slice` : 'widen the slice so that every class appears'}.`,
      );
    }
    indices = Int32Array.from(picked);
    description += ` per-class ${perClass}`;
  }

  const dim = src.sampleShape.reduce((a, d) => a * d, 1);
  const x = new Float32Array(indices.length * dim);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) labels[i] = src.fill(indices[i], x, i * dim);
  if (parsed.source.kind === 'synthetic') description += ` (seed ${opts.seed ?? 0}, shape [${src.sampleShape.join(',')}], ${src.numClasses} classes)`;
  const t = parsed.transform ? applyTransform(x, indices.length, src.sampleShape, parsed.transform, spec.trim()) : { x, sampleShape: src.sampleShape };
  return {
    x: t.x,
    shape: [indices.length, ...t.sampleShape],
    labels,
    numClasses: src.numClasses,
    description,
    source: src.source,
    ...(parsed.transform ? { background: transformBackground(parsed.transform) } : {}),
  };
}
