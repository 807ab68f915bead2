/**
 * AnalysisSpec on the wire <-> the analysis package's PartialSpec. The coordinator converts
 * and then validates with normalizeSpec, so a bad field gets the same sentence over gRPC
 * as on the command line. Zero / empty proto fields mean "default".
 */
import type { EigenMethod, LayerSelection, PartialSpec, TraceMethod } from '@hessian/analysis';
import type { AnalysisSpec as ProtoSpec, AnalysisSpec__Output as ProtoSpecOut } from './gen/hessian/v1/AnalysisSpec.js';

const nz = (x: number | string | undefined | null) => (x ? Number(x) : undefined);
const ne = (s: string | undefined | null) => (s ? s : undefined);

function strip<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * `shards` (data-parallel scope only) travels beside the spec, like `scope`: it decides how the
 * examples are split, not what is computed, so it is no field of analysis's AnalysisSpec (whose
 * reports would all change).
 */
export function specFromProto(p: ProtoSpecOut | ProtoSpec): PartialSpec & { scope: 'batch' | 'dataset' | string; shards: number } {
  const l = p.layers;
  let layers: LayerSelection | undefined;
  if (l?.middle) layers = { select: 'middle' };
  else if (l?.names) layers = { select: 'names', names: [...(l.names.names ?? [])] };
  else if (l?.regex) layers = { select: 'regex', pattern: l.regex };
  else layers = { select: 'all' };
  return {
    model: p.model ?? '',
    modelSeed: nz(p.modelSeed),
    data: ne(p.data),
    perClass: nz(p.perClass),
    loss: ne(p.loss) as PartialSpec['loss'],
    layers,
    convention: ne(p.convention) as PartialSpec['convention'],
    full: p.skipFull ? false : undefined,
    topK: p.skipTopK ? null : strip({ k: nz(p.topK?.k), method: ne(p.topK?.method) as EigenMethod | undefined, tol: nz(p.topK?.tol), maxIter: nz(p.topK?.maxIter) }),
    trace: p.skipTrace
      ? null
      : strip({
          method: ne(p.trace?.method) as TraceMethod | undefined,
          probes: nz(p.trace?.probes),
          targetRelStderr: nz(p.trace?.targetRelStderr),
          chunk: nz(p.trace?.chunk),
          fromFullProbes: p.trace?.fromFullProbes ? true : undefined,
        }),
    density: p.skipDensity ? null : strip({ runs: nz(p.density?.runs), steps: nz(p.density?.steps), preset: ne(p.density?.preset) as 'papyan' | 'pyhessian' | undefined, gridPoints: nz(p.density?.gridPoints) }),
    gaussNewton: p.gaussNewton ? true : undefined,
    similarity: p.skipSimilarity ? false : undefined,
    batchSize: nz(p.batchSize),
    seed: nz(p.seed),
    scope: ne(p.scope) ?? 'batch',
    shards: Number(p.shards ?? 0),
    exactMax: p.skipExact ? 0 : nz(p.exactMax),
  };
}

/**
 * PartialSpec -> wire. Negative or fractional numbers are passed through unchanged (proto
 * uint32 fields would silently wrap them), so send them as they are only after normalizeSpec.
 */
export function specToProto(s: PartialSpec, scope: 'batch' | 'dataset' = 'batch', shards = 0): ProtoSpec {
  const layers =
    !s.layers || s.layers.select === 'all'
      ? { all: true }
      : s.layers.select === 'middle'
        ? { middle: true }
        : s.layers.select === 'names'
          ? { names: { names: s.layers.names } }
          : { regex: s.layers.pattern };
  return {
    model: s.model,
    modelSeed: s.modelSeed ?? 0,
    data: s.data ?? '',
    perClass: s.perClass ?? 0,
    loss: s.loss ?? '',
    layers,
    convention: s.convention ?? '',
    skipFull: s.full === false,
    topK: s.topK ? { k: s.topK.k ?? 0, method: s.topK.method ?? '', tol: s.topK.tol ?? 0, maxIter: s.topK.maxIter ?? 0 } : undefined,
    skipTopK: s.topK === null,
    trace: s.trace ? { method: s.trace.method ?? '', probes: s.trace.probes ?? 0, targetRelStderr: s.trace.targetRelStderr ?? 0, chunk: s.trace.chunk ?? 0, fromFullProbes: s.trace.fromFullProbes ?? false } : undefined,
    skipTrace: s.trace === null,
    density: s.density ? { runs: s.density.runs ?? 0, steps: s.density.steps ?? 0, preset: s.density.preset ?? '', gridPoints: s.density.gridPoints ?? 0 } : undefined,
    skipDensity: s.density === null,
    gaussNewton: s.gaussNewton ?? false,
    skipSimilarity: s.similarity === false,
    batchSize: s.batchSize ?? 0,
    seed: s.seed ?? 0,
    scope,
    shards,
    exactMax: s.exactMax ?? 0,
    skipExact: s.exactMax === 0,
  };
}
