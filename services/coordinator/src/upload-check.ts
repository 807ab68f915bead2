/**
 * What an upload must hold: one single-file model (.onnx, .h5, .keras), read whole here so a
 * truncated or corrupt file is refused at upload, or a tfjs model.json with the weight files
 * it names. Only the files `keptInMemory` names carry their bytes here; weights are streamed
 * to the object store and checked by name and size.
 */
import { singleFileFormat, verifyModelFile } from '@hessian/engine';
import { UserError } from '@hessian/linalg';

export interface UploadedFile {
  path: string;
  size: number;
  /** bytes received so far */
  got: number;
  /** the bytes, for the files the check reads (model.json, a single .onnx); null otherwise */
  data: Buffer[] | null;
}

/** Whether the check needs a file's bytes: model.json, or the one file of a single-file upload. */
export function keptInMemory(path: string, single: boolean): boolean {
  return path === 'model.json' || (single && singleFileFormat(path) !== null && !path.includes('/'));
}

export async function checkUpload(list: UploadedFile[], name: string): Promise<void> {
  const bytes = (f: UploadedFile) => Buffer.concat(f.data ?? []);
  if (list.length === 1 && singleFileFormat(list[0].path) !== null && !list[0].path.includes('/')) {
    // read whole, as a worker would load it (a Keras file's weights against its topology)
    await verifyModelFile(bytes(list[0]), list[0].path, `upload '${name || list[0].path}'`);
    return;
  }
  const mj = list.find((f) => f.path === 'model.json');
  if (!mj) throw new UserError('upload: no model.json among the files; send the tfjs model.json and the weight files it names, or one .onnx, .h5 or .keras file');
  let json: { modelTopology?: unknown; weightsManifest?: { paths?: string[] }[] };
  try {
    json = JSON.parse(bytes(mj).toString('utf8'));
  } catch (e) {
    throw new UserError(`upload: model.json is not valid JSON (${(e as Error).message}); send a tfjs LayersModel model.json`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) throw new UserError('upload: model.json has no modelTopology; send a tfjs LayersModel (tf.LayersModel.save)');
  const sent = new Set(list.map((f) => f.path));
  const missing = (json.weightsManifest ?? []).flatMap((g) => g.paths ?? []).filter((p) => !sent.has(p));
  if (missing.length > 0) throw new UserError(`upload: weight files ${missing.join(', ')} named by model.json were not sent; send them too`);
}
