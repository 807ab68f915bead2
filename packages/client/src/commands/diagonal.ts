/**
 * `hessctl analyze --diagonal DIR`: the Hessian diagonal of every analyzed layer by extended
 * backpropagation (engine/src/exact-curvature.ts), one `LAYER.npy` (float64, the layer's
 * tensors flattened in order, kernel then bias) per layer where it is exact, and
 * `diagonal.json` with each layer's tensors, shapes and verdict (why it is or is not exact).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepare, selectLayers, type AnalysisSpec } from '@hessian/analysis';
import type { BackendName } from '@hessian/engine';

/** A 1-D little-endian float64 .npy file (format 1.0). */
export function npyFloat64(values: Float64Array): Buffer {
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${values.length},), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => body.writeDoubleLE(v, i * 8));
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export async function writeDiagonals(spec: AnalysisSpec, backend: BackendName, dir: string): Promise<string[]> {
  const p = await prepare(spec, backend);
  try {
    await mkdir(dir, { recursive: true });
    const layers = [];
    const written: string[] = [];
    for (const g of selectLayers(spec, p.model.groups(spec.convention))) {
      const scope = { kind: 'group' as const, group: g.name, convention: spec.convention };
      const verdict = p.engine.curvatureVerdict(scope);
      const file = verdict.exact ? `${g.name.replace(/[^\w.-]/g, '_')}.npy` : null;
      if (file) {
        await writeFile(join(dir, file), npyFloat64(await p.engine.hessianDiagonal(scope)));
        written.push(join(dir, file));
      }
      const tensors = g.tensors.map((t) => {
        const pt = p.model.params.find((x) => x.name === t.name);
        // imported models: the file's tensor (PyTorch state_dict name) and the layout the values are in here
        return { name: t.name, shape: pt?.shape, size: t.size, ...(pt?.origin ? { origin: pt.origin.name, layout: pt.origin.layout } : {}) };
      });
      layers.push({ layer: g.name, file, tensors, exact: verdict.exact, why: verdict.why });
    }
    await writeFile(join(dir, 'diagonal.json'), JSON.stringify({ model: spec.model, data: spec.data, loss: spec.loss, convention: spec.convention, layers }, null, 2) + '\n');
    return written;
  } finally {
    p.engine.dispose();
    p.model.dispose();
  }
}
