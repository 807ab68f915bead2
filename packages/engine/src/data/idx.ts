/**
 * IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/):
 * two zero bytes, a type byte, the number of dimensions, then each dimension as a big-endian
 * uint32, then the data, big-endian, in row-major order. Gzipped files are detected by their
 * magic bytes and decompressed. The header and data decoders are exported for idx-prefix.ts,
 * which decodes only the first rows of a file.
 */
import { UserError } from '@hessian/linalg';
import { copyBytes, maybeGunzip } from './binary.js';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxFile {
  dims: number[];
  data: IdxData;
}

export interface IdxHeader {
  dims: number[];
  /** The type byte (0x08 uint8 ... 0x0E float64). */
  typeByte: number;
  /** Bytes per element. */
  size: number;
  typeName: string;
  /** Where the data starts: 4 + 4 * ndim. */
  headerLen: number;
  /** Elements in the whole file (the product of dims). */
  count: number;
}

const IDX_TYPES: Record<number, { size: number; name: string }> = {
  0x08: { size: 1, name: 'uint8' },
  0x09: { size: 1, name: 'int8' },
  0x0b: { size: 2, name: 'int16' },
  0x0c: { size: 4, name: 'int32' },
  0x0d: { size: 4, name: 'float32' },
  0x0e: { size: 8, name: 'float64' },
};

/** Bytes that must be at hand to parse the header of `b`: 4 until the dimension count is known. */
export function idxHeaderLength(b: Uint8Array): number {
  return b.length < 4 ? 4 : 4 + 4 * b[3];
}

/** Parses the IDX header at the start of `b` (decompressed); throws UserError('INVALID_ARGUMENT') when it is malformed or cut short. */
export function parseIdxHeader(b: Buffer, name: string): IdxHeader {
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
  return { dims, typeByte: b[2], size: type.size, typeName: type.name, headerLen, count };
}

/**
 * The first `count` elements of the data after the header, in host order. With `own` (b is a
 * fresh buffer nobody else holds: a gunzip's output or a read of ours), one-byte data is a view
 * of `b` instead of a copy: copying the 47 MB of Fashion-MNIST's training pixels cost tens of ms.
 */
export function idxData(b: Buffer, h: IdxHeader, count: number, own: boolean): IdxData {
  const { headerLen } = h;
  if (h.size === 1) {
    const bytes = own ? b.buffer : copyBytes(b, headerLen, count);
    const offset = own ? b.byteOffset + headerLen : 0;
    return h.typeByte === 0x08 ? new Uint8Array(bytes, offset, count) : new Int8Array(bytes, offset, count);
  }
  const view = new DataView(b.buffer, b.byteOffset + headerLen, count * h.size);
  switch (h.typeByte) {
    case 0x0b: {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt16(2 * i, false);
      return a;
    }
    case 0x0c: {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt32(4 * i, false);
      return a;
    }
    case 0x0d: {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat32(4 * i, false);
      return a;
    }
    default: {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat64(8 * i, false);
      return a;
    }
  }
}

/**
 * Decodes an IDX file (plain or gzipped). `name` (the path, when there is one) appears in
 * error messages. Throws UserError('INVALID_ARGUMENT') on a malformed header or a data length
 * that does not match the dimensions.
 */
export function readIdx(buf: Buffer, name = 'the IDX data'): IdxFile {
  const b = maybeGunzip(buf, name);
  // A buffer we gunzipped is ours to keep a view of; the caller's own buffer is copied.
  return decodeIdx(b, name, b !== buf);
}

/** readIdx of decompressed bytes; `own` as in idxData. */
export function decodeIdx(b: Buffer, name: string, own: boolean): IdxFile {
  const h = parseIdxHeader(b, name);
  const nbytes = h.count * h.size;
  if (b.length - h.headerLen !== nbytes) {
    throw new UserError(
      `${name} holds ${b.length - h.headerLen} bytes of data but its IDX header [${h.dims.join(', ')}] of ${h.typeName} needs ${nbytes}; replace it with a complete, uncorrupted copy.`,
    );
  }
  return { dims: h.dims, data: idxData(b, h, h.count, own) };
}
