/**
 * Random data augmentation of training minibatches (`--augment flip,rotate:15,crop:4`), drawn
 * per epoch and per example so that a run is reproducible wherever its steps are computed:
 *
 *   draws of epoch e = Rng(deriveSeed(seed, 'augment/e')), consumed example by example in
 *   index order 0..n-1, op by op in the order given: flip one uniform (flip when < 0.5),
 *   rotate:D one uniform (angle (2u - 1) D degrees), crop:P two ints in [-P, P] (dx, dy).
 *
 * An example's transformation depends only on (seed, epoch, its index), not on the
 * minibatch, the shard or the worker: a resumed run, a cluster run with any number of shards
 * and the embedded run see the same images. The ops act on the preprocessed images
 * (padded, normalized) and fill with the data set's background (the normalized 0), which
 * equals torchvision's order (augment, then normalize) exactly for these nearest-pixel ops.
 */
import { flipHorizontal, rotateImage, translateImage, type Dataset, type ImageShape } from '@hessian/engine';
import { deriveSeed, Rng, UserError } from '@hessian/linalg';

export type AugmentOp = { kind: 'flip' } | { kind: 'rotate'; degrees: number } | { kind: 'crop'; pixels: number };

/** What a step needs to augment its examples (sent to workers with the step). */
export interface AugmentStep {
  /** canonical op list, e.g. 'flip,rotate:15' */
  ops: string;
  /** the run's seed */
  seed: number;
  /** 0-based epoch index */
  epoch: number;
}

function bad(msg: string): never {
  throw new UserError(`--augment: ${msg}`);
}

/** Parses '' | none | op,op,... with op = flip | rotate:DEGREES | crop:PIXELS. */
export function parseAugment(text: string): AugmentOp[] {
  const t = text.trim();
  if (t === '' || t === 'none') return [];
  const ops: AugmentOp[] = [];
  for (const part of t.split(',').map((s) => s.trim())) {
    const [name, arg, ...rest] = part.split(':');
    if (rest.length > 0) bad(`"${part}" has more than one ':'; write flip, rotate:DEGREES or crop:PIXELS`);
    if (name === 'flip' && arg === undefined) ops.push({ kind: 'flip' });
    else if (name === 'rotate') {
      const d = Number(arg);
      if (arg === undefined || arg.trim() === '' || !Number.isFinite(d) || d <= 0 || d > 180) bad(`rotate needs a maximum angle in degrees from above 0 to 180, as rotate:15; got "${part}"`);
      ops.push({ kind: 'rotate', degrees: d });
    } else if (name === 'crop') {
      const p = Number(arg);
      if (arg === undefined || !Number.isInteger(p) || p < 1 || p > 1000) bad(`crop needs a whole number of pixels from 1 to 1000, as crop:4; got "${part}"`);
      ops.push({ kind: 'crop', pixels: p });
    } else bad(`unknown op "${part}"; use flip, rotate:DEGREES or crop:PIXELS, separated by commas (or none)`);
  }
  return ops;
}

export function formatAugment(ops: AugmentOp[]): string {
  return ops.map((o) => (o.kind === 'flip' ? 'flip' : o.kind === 'rotate' ? `rotate:${o.degrees}` : `crop:${o.pixels}`)).join(',');
}

function slots(o: AugmentOp): number {
  return o.kind === 'crop' ? 2 : 1;
}

/** The draws of one epoch: `per` numbers per example (see the header), n examples. */
export function epochDraws(ops: AugmentOp[], seed: number, epoch: number, n: number): Float64Array {
  const per = ops.reduce((a, o) => a + slots(o), 0);
  const out = new Float64Array(n * per);
  const rng = new Rng(deriveSeed(seed, `augment/${epoch}`));
  let k = 0;
  for (let i = 0; i < n; i++)
    for (const o of ops) {
      if (o.kind === 'flip') out[k++] = rng.uniform() < 0.5 ? 1 : 0;
      else if (o.kind === 'rotate') out[k++] = (2 * rng.uniform() - 1) * o.degrees;
      else {
        out[k++] = rng.int(2 * o.pixels + 1) - o.pixels;
        out[k++] = rng.int(2 * o.pixels + 1) - o.pixels;
      }
    }
  return out;
}

/** Applies one example's draws (from `d[at]` on) to an image in place; `tmp` is scratch of the same size. */
export function augmentImage(img: Float32Array, s: ImageShape, ops: AugmentOp[], d: ArrayLike<number>, at: number, fill: number, tmp: Float32Array): void {
  let k = at;
  for (const o of ops) {
    if (o.kind === 'flip') {
      if (d[k++] === 1) {
        flipHorizontal(img, s, tmp);
        img.set(tmp);
      }
    } else if (o.kind === 'rotate') {
      const angle = d[k++];
      if (angle !== 0) {
        rotateImage(img, s, angle, fill, tmp);
        img.set(tmp);
      }
    } else {
      const dx = d[k++];
      const dy = d[k++];
      if (dx !== 0 || dy !== 0) {
        translateImage(img, s, dx, dy, fill, tmp);
        img.set(tmp);
      }
    }
  }
}

/** Checks that ops can apply to a data set (images); throws the --augment UserError otherwise. */
export function checkAugment(ops: AugmentOp[], data: Dataset): void {
  if (ops.length > 0 && data.shape.length !== 4) bad(`needs images (n x h x w x c), but ${data.description} has examples of shape [${data.shape.slice(1).join(', ')}]; drop --augment`);
}

/**
 * Augments minibatches of one training set: parses the ops once and keeps the draws of the
 * last epoch asked for (a worker or the trainer serves the steps of one epoch in a row).
 */
export class Augmenter {
  private last: { key: string; ops: AugmentOp[]; draws: Float64Array } | null = null;
  constructor(private readonly data: Dataset) {}

  /** Augments the rows of `xs` (the examples `idx` of the data set, in order) in place. */
  apply(step: AugmentStep, idx: ArrayLike<number>, xs: Float32Array): void {
    const key = `${step.ops}|${step.seed}|${step.epoch}`;
    if (this.last?.key !== key) {
      const ops = parseAugment(step.ops);
      checkAugment(ops, this.data);
      this.last = { key, ops, draws: epochDraws(ops, step.seed, step.epoch, this.data.shape[0]) };
    }
    const { ops, draws } = this.last;
    if (ops.length === 0) return;
    const [, h, w, c] = this.data.shape;
    const per = h * w * c;
    const slotsPer = ops.reduce((a, o) => a + slots(o), 0);
    const tmp = new Float32Array(per);
    const fill = this.data.background ?? 0;
    for (let j = 0; j < idx.length; j++) augmentImage(xs.subarray(j * per, (j + 1) * per), { h, w, c }, ops, draws, idx[j] * slotsPer, fill, tmp);
  }
}
