/**
 * Which files `upload-model` (and `analyze --server` with a local model) sends: a tfjs
 * model.json with the weight files it names, or one single-file model (.onnx, Keras .h5 /
 * .keras), sent as model.onnx / model.h5 / model.keras after the whole check the coordinator
 * repeats (a truncated or corrupt file is refused before a byte leaves the machine).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '@hessian/linalg';

export interface UploadFile {
  /** the name the cluster stores it under */
  rel: string;
  /** where it is read from here */
  abs: string;
}

export async function uploadFiles(modelPath: string, tfjsFiles: (modelJson: string) => Promise<string[]>): Promise<UploadFile[]> {
  // The engine (TensorFlow.js) only when a model is uploaded: the other cluster commands start without it.
  const { singleFileFormat, singleFileName, verifyModelFile } = await import('@hessian/engine');
  const fmt = singleFileFormat(modelPath);
  if (fmt !== null) {
    let bytes: Buffer;
    try {
      bytes = await readFile(modelPath);
    } catch {
      throw new UserError(`--model: cannot read ${modelPath}; give the path of a .onnx, .h5 or .keras file, a tfjs model.json or zoo:NAME`, 'NOT_FOUND');
    }
    await verifyModelFile(bytes, modelPath);
    return [{ rel: singleFileName(fmt), abs: modelPath }];
  }
  const dir = dirname(modelPath);
  return (await tfjsFiles(modelPath)).map((rel) => ({ rel, abs: join(dir, rel) }));
}
