/**
 * IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/):
 * two zero bytes, a type byte, the number of dimensions, then each dimension as a big-endian
 * uint32, then the data, big-endian, in row-major order. Gzipped files are detected by their
 * magic bytes and decompressed.
 */
import { UserError } from '@hessian/linalg';
import { copyBytes, maybeGunzip } from './binary.js';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxFile {
  dims: number[];
  data: IdxData;
}

const IDX_TYPES: Record<number, { size: number; name: string }> = {
  0x08: { size: 1, name: 'uint8' },
  0x09: { size: 1, name: 'int8' },
  0x0b: { size: 2, name: 'int16' },
  0x0c: { size: 4, name: 'int32' },
  0x0d: { size: 4, name: 'float32' },
  0x0e: { size: 8, name: 'float64' },
};

/**
 * Decodes an IDX file (plain or gzipped). `name` (the path, when there is one) appears in
 * error messages. Throws UserError('INVALID_ARGUMENT') on a malformed header or a data length
 * that does not match the dimensions.
 */
export function readIdx(buf: Buffer, name = 'the IDX data'): IdxFile {
  const b = maybeGunzip(buf, name);
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0) {
    throw new UserError(
      `${name} is not an IDX file (it must start with two zero bytes, a type byte and a dimension count); pass an IDX file such as train-images-idx3-ubyte.gz.`,
    );
  }
  const type = IDX_TYPES[b[2]];
  if (!type) {
    throw new UserError(
      `${name} has unknown IDX type byte 0x${b[2].toString(16).padStart(2, '0')}; use an IDX file of type 0x08 (uint8), 0x09, 0x0B, 0x0C, 0x0D or 0x0E.`,
    );
  }
  const ndim = b[3];
  if (ndim === 0) {
    throw new UserError(`${name} declares zero IDX dimensions; use an IDX file with at least one dimension.`);
  }
  const headerLen = 4 + 4 * ndim;
  if (b.length < headerLen) {
    throw new UserError(`${name} is truncated inside its IDX header (${b.length} bytes for ${ndim} dimensions); replace it with a complete copy.`);
  }
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = b.readUInt32BE(4 + 4 * i);
    dims.push(d);
    count *= d;
  }
  const nbytes = count * type.size;
  if (b.length - headerLen !== nbytes) {
    throw new UserError(
      `${name} holds ${b.length - headerLen} bytes of data but its IDX header [${dims.join(', ')}] of ${type.name} needs ${nbytes}; replace it with a complete, uncorrupted copy.`,
    );
  }
  let data: IdxData;
  if (type.size === 1) {
    const raw = copyBytes(b, headerLen, nbytes);
    data = b[2] === 0x08 ? new Uint8Array(raw) : new Int8Array(raw);
  } else {
    const view = new DataView(b.buffer, b.byteOffset + headerLen, nbytes);
    switch (b[2]) {
      case 0x0b: {
        const a = new Int16Array(count);
        for (let i = 0; i < count; i++) a[i] = view.getInt16(2 * i, false);
        data = a;
        break;
      }
      case 0x0c: {
        const a = new Int32Array(count);
        for (let i = 0; i < count; i++) a[i] = view.getInt32(4 * i, false);
        data = a;
        break;
      }
      case 0x0d: {
        const a = new Float32Array(count);
        for (let i = 0; i < count; i++) a[i] = view.getFloat32(4 * i, false);
        data = a;
        break;
      }
      default: {
        const a = new Float64Array(count);
        for (let i = 0; i < count; i++) a[i] = view.getFloat64(8 * i, false);
        data = a;
      }
    }
  }
  return { dims, data };
}
