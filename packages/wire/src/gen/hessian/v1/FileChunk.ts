// Original file: ../../proto/hessian/v1/coordinator.proto


export interface FileChunk {
  /**
   * "model.json" or a weights file named in its manifest
   */
  'path'?: (string);
  'data'?: (Buffer | Uint8Array | string);
}

export interface FileChunk__Output {
  /**
   * "model.json" or a weights file named in its manifest
   */
  'path': (string);
  'data': (Buffer);
}
