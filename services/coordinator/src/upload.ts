/**
 * UploadModel: a client streams a tfjs model (model.json and its weight files) or one
 * single-file model (model.onnx, model.h5, model.keras); the coordinator checks it (a LayersModel whose weights are all
 * there; an ONNX file that decodes, with supported operators), bundles the files and
 * stores them once under their digest (sha256:HEX) in the object store `hessian_models`.
 */
import { singleFileFormat, verifyModelFile } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { encodeModelBundle, modelDigest, safeModelPath, toServiceError, type CoordinatorHandlers, type UploadModelChunk__Output } from '@hessian/wire';
import type { Logger } from 'pino';
import type { Store } from './store.js';

export function uploadModelHandler(store: Store, maxUploadBytes: number, log: Logger): CoordinatorHandlers['UploadModel'] {
  return (call, cb) => {
    const files = new Map<string, Buffer[]>();
    let name = '';
    let total = 0;
    let done = false;
    const refuse = (e: unknown) => {
      if (done) return;
      done = true;
      call.removeAllListeners('data');
      cb(toServiceError(e));
    };
    call.on('data', (m: UploadModelChunk__Output) => {
      if (done) return;
      if (m.part === 'header' && m.header) name = m.header.name;
      else if (m.part === 'file' && m.file) {
        total += m.file.data.length;
        if (total > maxUploadBytes)
          return refuse(new UserError(`upload: the model is larger than the limit of ${maxUploadBytes} bytes (HESSIAN_MAX_UPLOAD_BYTES); prune it or raise the limit`, 'RESOURCE_EXHAUSTED'));
        if (!safeModelPath(m.file.path)) return refuse(new UserError(`upload: file name "${m.file.path}" must be a relative path without ".." (e.g. model.json, weights.bin)`));
        const list = files.get(m.file.path) ?? [];
        list.push(Buffer.from(m.file.data));
        files.set(m.file.path, list);
      }
    });
    call.on('error', () => (done = true));
    call.on('end', () => {
      if (done) return;
      void (async () => {
        const list = [...files].map(([path, parts]) => ({ path, data: Buffer.concat(parts) }));
        await checkUpload(list, name);
        const bundle = encodeModelBundle(list);
        const digest = modelDigest(bundle);
        const have = await store.models.info(digest);
        if (!have) await store.retry(`put model ${digest}`, () => store.models.putBlob({ name: digest, description: name }, new Uint8Array(bundle.buffer, bundle.byteOffset, bundle.byteLength)));
        log.info({ digest, name, bytes: bundle.length, files: list.length, existed: Boolean(have) }, 'model uploaded');
        return { digest, bytes: bundle.length };
      })().then(
        (r) => {
          done = true;
          cb(null, r);
        },
        (e) => refuse(e),
      );
    });
  };
}

/**
 * What an upload must hold: one single-file model (.onnx, .h5, .keras), decoded and checked here so a
 * truncated or corrupt file is refused at upload, or a tfjs model.json with the weight files
 * it names.
 */
async function checkUpload(list: { path: string; data: Buffer }[], name: string): Promise<void> {
  if (list.length === 1 && singleFileFormat(list[0].path) !== null && !list[0].path.includes('/')) {
    await verifyModelFile(list[0].data, list[0].path, `upload '${name || list[0].path}'`);
    return;
  }
  const mj = list.find((f) => f.path === 'model.json');
  if (!mj) throw new UserError('upload: no model.json among the files; send the tfjs model.json and the weight files it names, or one .onnx, .h5 or .keras file');
  let json: { modelTopology?: unknown; weightsManifest?: { paths?: string[] }[] };
  try {
    json = JSON.parse(mj.data.toString('utf8'));
  } catch (e) {
    throw new UserError(`upload: model.json is not valid JSON (${(e as Error).message}); send a tfjs LayersModel model.json`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) throw new UserError('upload: model.json has no modelTopology; send a tfjs LayersModel (tf.LayersModel.save)');
  const sent = new Set(list.map((f) => f.path));
  const missing = (json.weightsManifest ?? []).flatMap((g) => g.paths ?? []).filter((p) => !sent.has(p));
  if (missing.length > 0) throw new UserError(`upload: weight files ${missing.join(', ')} named by model.json were not sent; send them too`);
}
