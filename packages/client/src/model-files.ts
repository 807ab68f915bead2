/**
 * Which files `upload-model` (and `analyze --server` with a local model) sends: a tfjs
 * model.json with the weight files it names, or one single-file model (.onnx), sent as
 * model.<ext> after the same structural check the coordinator repeats (a truncated or corrupt
 * file is refused before a byte leaves the machine).
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { checkModelFile, singleFileFormat } from '@hessian/engine';
import { UserError } from '@hessian/linalg';

export interface UploadFile {
  /** the name the cluster stores it under */
  rel: string;
  /** where it is read from here */
  abs: string;
}

export async function uploadFiles(modelPath: string, tfjsFiles: (modelJson: string) => Promise<string[]>): Promise<UploadFile[]> {
  if (singleFileFormat(modelPath) !== null) {
    let bytes: Buffer;
    try {
      bytes = await readFile(modelPath);
    } catch {
      throw new UserError(`--model: cannot read ${modelPath}; give the path of a .onnx file, a tfjs model.json or zoo:NAME`, 'NOT_FOUND');
    }
    checkModelFile(bytes, modelPath);
    return [{ rel: `model${extname(modelPath).toLowerCase()}`, abs: modelPath }];
  }
  const dir = dirname(modelPath);
  return (await tfjsFiles(modelPath)).map((rel) => ({ rel, abs: join(dir, rel) }));
}
