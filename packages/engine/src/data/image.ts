/**
 * Geometric operations on one NHWC image (h x w x c, row-major, float32), the pieces of the
 * training-data pipeline: zero padding (static, at load), horizontal flip, rotation and
 * translation (random per epoch, in @hessian/training's augment.ts).
 *
 * Conventions follow torchvision's defaults, which the paper's code used: rotation is
 * counter-clockwise for a positive angle, about the image centre ((w-1)/2, (h-1)/2 in pixel
 * centres), nearest-neighbour, pixels from outside filled with `fill` (torchvision: 0 before
 * normalization; here the caller passes the normalized value of 0, so rotating a normalized
 * image equals normalizing a rotated one exactly: nearest sampling copies values).
 */

/** One image's geometry. */
export interface ImageShape {
  h: number;
  w: number;
  c: number;
}

/** Pads by `p` pixels of `fill` on every side: h x w x c becomes (h+2p) x (w+2p) x c. */
export function padImage(src: Float32Array, s: ImageShape, p: number, fill = 0): Float32Array {
  const H = s.h + 2 * p;
  const W = s.w + 2 * p;
  const out = new Float32Array(H * W * s.c).fill(fill);
  const row = s.w * s.c;
  for (let y = 0; y < s.h; y++) out.set(src.subarray(y * row, (y + 1) * row), ((y + p) * W + p) * s.c);
  return out;
}

/** Mirror left-right (torchvision's RandomHorizontalFlip when drawn), into `out`. */
export function flipHorizontal(src: Float32Array, s: ImageShape, out: Float32Array): void {
  const { h, w, c } = s;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const a = (y * w + x) * c;
      const b = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[b + k] = src[a + k];
    }
}

/**
 * Rotation by `degrees` counter-clockwise about the centre, nearest neighbour, `fill` outside,
 * into `out` (not in place). Output pixel p takes the input at R(-angle) (p - centre) + centre
 * in a y-up frame; multiples of 90 degrees map pixel centres onto pixel centres exactly.
 */
export function rotateImage(src: Float32Array, s: ImageShape, degrees: number, fill: number, out: Float32Array): void {
  const { h, w, c } = s;
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  for (let y = 0; y < h; y++) {
    const dy = cy - y; // y up
    for (let x = 0; x < w; x++) {
      const dx = x - cx;
      const sx = Math.round(cx + cos * dx + sin * dy);
      const sy = Math.round(cy - (-sin * dx + cos * dy));
      const o = (y * w + x) * c;
      if (sx < 0 || sx >= w || sy < 0 || sy >= h) for (let k = 0; k < c; k++) out[o + k] = fill;
      else {
        const i = (sy * w + sx) * c;
        for (let k = 0; k < c; k++) out[o + k] = src[i + k];
      }
    }
  }
}

/**
 * Shift by (dx right, dy down) pixels with `fill` where nothing moves in, into `out`: what
 * torchvision's RandomCrop(size, padding=P) does with a crop offset of (P + dx, P + dy).
 */
export function translateImage(src: Float32Array, s: ImageShape, dx: number, dy: number, fill: number, out: Float32Array): void {
  const { h, w, c } = s;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const sx = x - dx;
      const sy = y - dy;
      const o = (y * w + x) * c;
      if (sx < 0 || sx >= w || sy < 0 || sy >= h) for (let k = 0; k < c; k++) out[o + k] = fill;
      else {
        const i = (sy * w + sx) * c;
        for (let k = 0; k < c; k++) out[o + k] = src[i + k];
      }
    }
}

/** Mean and (population) standard deviation of every value, in float64. */
export function meanStd(x: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  const mean = s / x.length;
  let q = 0;
  for (let i = 0; i < x.length; i++) q += (x[i] - mean) * (x[i] - mean);
  return { mean, std: Math.sqrt(q / x.length) };
}
