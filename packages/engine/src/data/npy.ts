/**
 * NumPy .npy files, format versions 1.0, 2.0 and 3.0
 * (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html): the magic
 * "\x93NUMPY", a version, a little-endian header length (uint16 in v1, uint32 in v2/v3), a
 * Python-literal header dict {'descr', 'fortran_order', 'shape'}, then the raw array.
 * Gzipped files (x.npy.gz) are detected by their magic bytes and decompressed.
 *
 * Supported dtypes (little-endian or byte-order-free only): '<f4' Float32Array, '<f8'
 * Float64Array, '|u1' Uint8Array, '|i1' Int8Array, '|b1' Uint8Array, '<i2' Int16Array,
 * '<u2' Uint16Array, '<i4' Int32Array, '<u4' Uint32Array, and '<i8' / '<u8' as numbers in
 * a Float64Array (exact; values beyond 2^53 are rejected). Fortran order and big-endian
 * dtypes are rejected with a UserError.
 */
import { UserError } from '@hessian/linalg';
import { HOST_LITTLE_ENDIAN, copyBytes, maybeGunzip } from './binary.js';

export type NpyData =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

export interface NpyFile {
  shape: number[];
  data: NpyData;
  /** Always false: Fortran-ordered arrays are rejected. */
  fortranOrder: boolean;
  /** The descr of the header, normalized ('<f4', '|u1', '<i8', ...). */
  dtype: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DTYPES: Record<string, { size: number; kind: 'f4' | 'f8' | 'u1' | 'i1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8' | 'u8' }> = {
  '<f4': { size: 4, kind: 'f4' },
  '<f8': { size: 8, kind: 'f8' },
  '|u1': { size: 1, kind: 'u1' },
  '|i1': { size: 1, kind: 'i1' },
  '|b1': { size: 1, kind: 'u1' },
  '<i2': { size: 2, kind: 'i2' },
  '<u2': { size: 2, kind: 'u2' },
  '<i4': { size: 4, kind: 'i4' },
  '<u4': { size: 4, kind: 'u4' },
  '<i8': { size: 8, kind: 'i8' },
  '<u8': { size: 8, kind: 'u8' },
};

function normalizeDescr(d: string): string {
  // One-byte types carry no byte order; numpy writes '|u1' but '<u1' / 'u1' mean the same.
  if (/^[<>=|]?[uib]1$/.test(d)) return `|${d.slice(-2)}`;
  return d;
}

/**
 * Decodes a .npy file (plain or gzipped). `name` (the path, when there is one) appears in
 * error messages. Throws UserError('INVALID_ARGUMENT') on a malformed header, an unsupported
 * dtype, big-endian data, Fortran order or a data length that does not match the shape.
 */
export function readNpy(buf: Buffer, name = 'the npy data'): NpyFile {
  const b = maybeGunzip(buf, name);
  if (b.length < 10 || MAGIC.some((m, i) => b[i] !== m)) {
    throw new UserError(`${name} is not a NumPy .npy file (it lacks the \\x93NUMPY magic); save the array with numpy.save.`);
  }
  const major = b[6];
  let headerStart: number;
  let headerLen: number;
  if (major === 1) {
    headerLen = b.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (b.length < 12) throw new UserError(`${name} is truncated inside its .npy header; replace it with a complete copy.`);
    headerLen = b.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw new UserError(`${name} has .npy format version ${major}.${b[7]}, which is not supported; save it with numpy.save (format 1.0, 2.0 or 3.0).`);
  }
  if (b.length < headerStart + headerLen) {
    throw new UserError(`${name} is truncated inside its .npy header; replace it with a complete copy.`);
  }
  const header = b.toString(major === 3 ? 'utf8' : 'latin1', headerStart, headerStart + headerLen);
  const descrM = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  const fortranM = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descrM || !fortranM || !shapeM) {
    throw new UserError(
      `${name} has a malformed .npy header (it needs 'descr', 'fortran_order' and 'shape' with a simple dtype); save a plain numeric array with numpy.save.`,
    );
  }
  const shapeParts = shapeM[1].split(',').map((t) => t.trim()).filter((t) => t !== '');
  const shape: number[] = [];
  for (const t of shapeParts) {
    if (!/^\d+L?$/.test(t)) {
      throw new UserError(`${name} has a malformed .npy shape (${shapeM[1]}); save a plain numeric array with numpy.save.`);
    }
    shape.push(parseInt(t, 10));
  }
  const descr = normalizeDescr(descrM[1]);
  if (fortranM[1] === 'True') {
    throw new UserError(`${name} is stored in Fortran (column-major) order; save it in C order, e.g. numpy.save(path, numpy.ascontiguousarray(a)).`);
  }
  if (descr.startsWith('>')) {
    throw new UserError(`${name} holds big-endian data (${descr}); save it little-endian, e.g. numpy.save(path, a.astype(a.dtype.newbyteorder('<'))).`);
  }
  const dt = DTYPES[descr];
  if (!dt) {
    throw new UserError(
      `${name} has unsupported dtype ${descr}; convert it to one of ${Object.keys(DTYPES).join(', ')} (e.g. a.astype(numpy.float32)) before saving.`,
    );
  }
  const count = shape.reduce((a, d) => a * d, 1);
  const offset = headerStart + headerLen;
  const nbytes = count * dt.size;
  if (b.length - offset !== nbytes) {
    throw new UserError(
      `${name} holds ${b.length - offset} bytes of data but its .npy header (shape (${shape.join(', ')}), ${descr}) needs ${nbytes}; replace it with a complete, uncorrupted copy.`,
    );
  }
  return { shape, data: decode(b, offset, count, dt.kind, name), fortranOrder: false, dtype: descr };
}

function decode(b: Buffer, offset: number, count: number, kind: string, name: string): NpyData {
  switch (kind) {
    case 'u1':
      return new Uint8Array(copyBytes(b, offset, count));
    case 'i1':
      return new Int8Array(copyBytes(b, offset, count));
    case 'i8':
    case 'u8': {
      const out = new Float64Array(count);
      const view = new DataView(b.buffer, b.byteOffset + offset, count * 8);
      for (let i = 0; i < count; i++) {
        const v = kind === 'i8' ? view.getBigInt64(8 * i, true) : view.getBigUint64(8 * i, true);
        const n = Number(v);
        if (!Number.isSafeInteger(n)) {
          throw new UserError(`${name} holds the 64-bit integer ${v} at flat index ${i}, beyond 2^53; store values that fit in a double, or use int32.`);
        }
        out[i] = n;
      }
      return out;
    }
  }
  const size = kind === 'f8' ? 8 : kind === 'i2' || kind === 'u2' ? 2 : 4;
  if (HOST_LITTLE_ENDIAN) {
    const raw = copyBytes(b, offset, count * size);
    switch (kind) {
      case 'f4':
        return new Float32Array(raw);
      case 'f8':
        return new Float64Array(raw);
      case 'i2':
        return new Int16Array(raw);
      case 'u2':
        return new Uint16Array(raw);
      case 'i4':
        return new Int32Array(raw);
      default:
        return new Uint32Array(raw);
    }
  }
  const view = new DataView(b.buffer, b.byteOffset + offset, count * size);
  const get = (i: number): number => {
    switch (kind) {
      case 'f4':
        return view.getFloat32(4 * i, true);
      case 'f8':
        return view.getFloat64(8 * i, true);
      case 'i2':
        return view.getInt16(2 * i, true);
      case 'u2':
        return view.getUint16(2 * i, true);
      case 'i4':
        return view.getInt32(4 * i, true);
      default:
        return view.getUint32(4 * i, true);
    }
  };
  const out =
    kind === 'f4'
      ? new Float32Array(count)
      : kind === 'f8'
        ? new Float64Array(count)
        : kind === 'i2'
          ? new Int16Array(count)
          : kind === 'u2'
            ? new Uint16Array(count)
            : kind === 'i4'
              ? new Int32Array(count)
              : new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = get(i);
  return out;
}
