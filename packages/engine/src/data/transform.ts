/**
 * Static preprocessing named in a data spec: `SPEC?pad=P,mean=M,std=S` zero-pads every image
 * by P pixels per side, then maps every value v to (v - M) / S (torchvision's
 * Pad -> ToTensor -> Normalize). It is part of the spec string so that every place that loads
 * data by spec (the trainer's test set, workers' TrainGradient and analysis tasks, sweeps)
 * applies exactly the same preprocessing with no extra field on the wire.
 *
 * `background` is the value an empty (zero) pixel has after the transform: augmentation fills
 * rotated-in pixels with it, as torchvision fills with 0 before normalizing.
 */
import { UserError } from '@hessian/linalg';
import { padImage } from './image.js';

export interface DataTransform {
  /** pixels of zeros added on each side of every image (0: none) */
  pad: number;
  /** normalization (v - mean) / std; absent: none */
  normalize?: { mean: number; std: number };
}

const OPTIONS_RE = /^[a-z]+=[^,?=]*(,[a-z]+=[^,?=]*)*$/i;

/** Splits `BODY?OPTIONS` when the text after the last '?' has the options' shape; otherwise no options. */
export function splitTransform(spec: string): { body: string; options: string | null } {
  const q = spec.lastIndexOf('?');
  if (q < 0) return { body: spec, options: null };
  const options = spec.slice(q + 1).trim();
  if (!OPTIONS_RE.test(options)) return { body: spec, options: null };
  return { body: spec.slice(0, q).trim(), options };
}

/** Parses `pad=P,mean=M,std=S` (each optional; mean and std together). */
export function parseTransform(options: string, spec: string): DataTransform {
  const seen = new Map<string, string>();
  for (const part of options.split(',')) {
    const [k, v] = part.split('=').map((s) => s.trim());
    const key = k.toLowerCase();
    if (!['pad', 'mean', 'std'].includes(key)) throw new UserError(`Data spec "${spec}" has an unknown option "${k}"; the options after '?' are pad=P, mean=M and std=S.`);
    if (seen.has(key)) throw new UserError(`Data spec "${spec}" gives option ${key} twice; give it once.`);
    seen.set(key, v);
  }
  const t: DataTransform = { pad: 0 };
  const pad = seen.get('pad');
  if (pad !== undefined) {
    if (!/^\d+$/.test(pad) || Number(pad) > 1000) throw new UserError(`Data spec "${spec}": pad=${pad} must be a whole number of pixels from 0 to 1000.`);
    t.pad = Number(pad);
  }
  const mean = seen.get('mean');
  const std = seen.get('std');
  if ((mean === undefined) !== (std === undefined)) throw new UserError(`Data spec "${spec}": give mean=M and std=S together (normalization is (v - M) / S).`);
  if (mean !== undefined && std !== undefined) {
    const m = Number(mean);
    const s = Number(std);
    if (mean === '' || !Number.isFinite(m)) throw new UserError(`Data spec "${spec}": mean=${mean} must be a finite number.`);
    if (std === '' || !Number.isFinite(s) || s <= 0) throw new UserError(`Data spec "${spec}": std=${std} must be a positive finite number.`);
    t.normalize = { mean: m, std: s };
  }
  return t;
}

/** The options text of a transform ('' when it does nothing); numbers round-trip exactly. */
export function formatTransform(t: DataTransform): string {
  const parts: string[] = [];
  if (t.pad > 0) parts.push(`pad=${t.pad}`);
  if (t.normalize) parts.push(`mean=${t.normalize.mean}`, `std=${t.normalize.std}`);
  return parts.join(',');
}

/** A spec with the transform appended (replacing any the spec had); the spec itself when the transform does nothing. */
export function withTransform(spec: string, t: DataTransform): string {
  const { body } = splitTransform(spec.trim());
  const o = formatTransform(t);
  return o === '' ? body : `${body}?${o}`;
}

/** The value of an empty (zero) pixel after the transform. */
export function transformBackground(t: DataTransform | undefined): number {
  return t?.normalize ? (0 - t.normalize.mean) / t.normalize.std : 0;
}

/** Applies the transform to n examples of sampleShape [h, w, c] (pad needs images). */
export function applyTransform(x: Float32Array, n: number, sampleShape: number[], t: DataTransform, spec: string): { x: Float32Array; sampleShape: number[] } {
  let out = x;
  let shape = sampleShape;
  if (t.pad > 0) {
    if (sampleShape.length !== 3) throw new UserError(`Data spec "${spec}": pad=${t.pad} needs images (h x w x c), but the examples have shape [${sampleShape.join(', ')}]; drop pad.`);
    const [h, w, c] = sampleShape;
    const H = h + 2 * t.pad;
    const W = w + 2 * t.pad;
    const per = h * w * c;
    out = new Float32Array(n * H * W * c);
    for (let i = 0; i < n; i++) out.set(padImage(x.subarray(i * per, (i + 1) * per), { h, w, c }, t.pad), i * H * W * c);
    shape = [H, W, c];
  }
  if (t.normalize) {
    const { mean, std } = t.normalize;
    if (out === x) out = x.slice();
    for (let i = 0; i < out.length; i++) out[i] = (out[i] - mean) / std;
  }
  return { x: out, sampleShape: shape };
}
