/**
 * Learning-rate schedules, evaluated per epoch (as PyTorch's StepLR / CosineAnnealingLR
 * stepped once an epoch):
 *   constant              lr
 *   step:EVERY[:FACTOR]   lr * FACTOR^floor(epoch / EVERY)   (FACTOR default 0.1)
 *   milestones:E1,E2,...[:FACTOR]   lr * FACTOR^(number of Ei <= epoch)   (PyTorch's MultiStepLR; the paper's 10,20 x0.25)
 *   cosine[:MIN]          MIN + (lr - MIN) (1 + cos(pi * epoch / epochs)) / 2   (MIN default 0)
 * `epoch` counts from 0.
 */
import { UserError } from '@hessian/linalg';

export type Schedule =
  | { kind: 'constant' }
  | { kind: 'step'; every: number; factor: number }
  | { kind: 'milestones'; epochs: number[]; factor: number }
  | { kind: 'cosine'; min: number };

export function parseSchedule(text: string): Schedule {
  const t = text.trim();
  const bad = (): never => {
    throw new UserError(`--schedule: "${text}" is not constant, step:EVERY[:FACTOR] (e.g. step:30:0.1), milestones:E1,E2,...[:FACTOR] (e.g. milestones:10,20:0.25, increasing) or cosine[:MIN_LR]`);
  };
  if (t === 'constant') return { kind: 'constant' };
  const parts = t.split(':');
  if (parts[0] === 'step') {
    if (parts.length < 2 || parts.length > 3) bad();
    const every = Number(parts[1]);
    const factor = parts.length === 3 ? Number(parts[2]) : 0.1;
    if (!Number.isInteger(every) || every < 1 || !Number.isFinite(factor) || factor <= 0 || parts.some((p) => p === '')) bad();
    return { kind: 'step', every, factor };
  }
  if (parts[0] === 'milestones') {
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) bad();
    const epochs = parts[1].split(',').map((e) => Number(e));
    const factor = parts.length === 3 ? Number(parts[2]) : 0.1;
    if (epochs.some((e, i) => !Number.isInteger(e) || e < 1 || (i > 0 && e <= epochs[i - 1])) || !Number.isFinite(factor) || factor <= 0) bad();
    return { kind: 'milestones', epochs, factor };
  }
  if (parts[0] === 'cosine') {
    if (parts.length > 2) bad();
    const min = parts.length === 2 ? Number(parts[1]) : 0;
    if (!Number.isFinite(min) || min < 0 || parts[1] === '') bad();
    return { kind: 'cosine', min };
  }
  return bad();
}

export function formatSchedule(s: Schedule): string {
  if (s.kind === 'constant') return 'constant';
  if (s.kind === 'step') return `step:${s.every}:${s.factor}`;
  if (s.kind === 'milestones') return `milestones:${s.epochs.join(',')}:${s.factor}`;
  return `cosine:${s.min}`;
}

export function learningRate(s: Schedule, lr: number, epoch: number, epochs: number): number {
  switch (s.kind) {
    case 'constant':
      return lr;
    case 'step':
      return lr * Math.pow(s.factor, Math.floor(epoch / s.every));
    case 'milestones':
      return lr * Math.pow(s.factor, s.epochs.filter((e) => e <= epoch).length);
    case 'cosine':
      return s.min + ((lr - s.min) * (1 + Math.cos((Math.PI * epoch) / Math.max(1, epochs)))) / 2;
  }
}
