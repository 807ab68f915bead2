/**
 * Before an upload: do the weight files hold the bytes model.json's weightsManifest describes?
 * A truncated weights.bin used to be accepted and fail later on a worker, naming a path inside
 * the worker's cache; here it is one sentence naming the user's own files. Only float32,
 * unquantized weights are counted (what the engine accepts); anything else is left to the engine.
 */
import { UserError } from '@hessian/linalg';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface ManifestGroup {
  paths?: string[];
  weights?: { name?: string; shape?: unknown[]; dtype?: string; quantization?: unknown }[];
}

/** Bytes the manifest needs, or null when it holds weights the engine would refuse anyway (its own sentence is better). */
export function manifestBytes(groups: ManifestGroup[]): number | null {
  let bytes = 0;
  for (const g of groups)
    for (const w of g.weights ?? []) {
      if (w.quantization || (w.dtype !== undefined && w.dtype !== 'float32') || !Array.isArray(w.shape)) return null;
      bytes += 4 * w.shape.reduce<number>((a, b) => a * Number(b), 1);
    }
  return Number.isFinite(bytes) ? bytes : null;
}

export async function checkWeightBytes(modelJsonPath: string, groups: ManifestGroup[]): Promise<void> {
  const need = manifestBytes(groups);
  if (need === null) return;
  const files = [...new Set(groups.flatMap((g) => g.paths ?? []))].map((f) => join(dirname(modelJsonPath), f));
  let have = 0;
  for (const f of files) have += (await stat(f)).size;
  if (have === need) return;
  const which = files.length === 1 ? files[0] : `the weight files ${files.join(', ')}`;
  throw new UserError(
    have < need
      ? `--model: ${which} holds ${have} bytes but ${modelJsonPath} describes ${need} bytes of float32 weights: it is truncated or belongs to another model; save the model again`
      : `--model: ${which} holds ${have} bytes but ${modelJsonPath} describes ${need} bytes of float32 weights: it belongs to another model; save the model again`,
  );
}
