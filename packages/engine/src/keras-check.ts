/**
 * Structural checks of Keras model files that need no HDF5 library (synchronous, so any
 * caller can refuse a file before it goes anywhere): an HDF5 file must carry its signature and
 * be at least as long as its superblock's end-of-file address (a truncated `.h5` is shorter);
 * a `.keras` zip must have its central directory, entries whose CRC-32 match their bytes, a
 * `config.json` that compiles into our layers and an HDF5 `model.weights.h5`. The full read
 * (every weight against the topology) is keras-file.ts, asynchronous (h5wasm).
 */
import { unzipSync } from 'fflate';
import { UserError } from '@hessian/linalg';
import { compileLayer, type Json } from './layers.js';
import { INPUT, parseTopology, topoSort } from './topology.js';

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function unsigned(bytes: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[at + i];
  return v;
}

/**
 * Throws unless `bytes` is an HDF5 file as long as its superblock says. The superblock sits at
 * 0 or, after a user block, at 512, 1024, 2048, ... (HDF5 file format spec, section II.A).
 */
export function checkHdf5Structure(bytes: Uint8Array, source: string): void {
  const bad = (why: string) => new UserError(`${source} ${why}; the file is truncated or corrupt, save the model again.`);
  let at = -1;
  for (let base = 0; base + 8 <= bytes.length; base = base === 0 ? 512 : base * 2) {
    if (SIGNATURE.every((b, i) => bytes[base + i] === b)) {
      at = base;
      break;
    }
  }
  if (at < 0) throw bad('is not an HDF5 file (no HDF5 signature)');
  const version = bytes[at + 8];
  // offsets of: size of offsets, and the base / end-of-file addresses, by superblock version
  let sizeOfOffsets: number;
  let baseAt: number;
  if (version === 0 || version === 1) {
    sizeOfOffsets = bytes[at + 13];
    baseAt = at + (version === 0 ? 24 : 28);
  } else if (version === 2 || version === 3) {
    sizeOfOffsets = bytes[at + 9];
    baseAt = at + 12;
  } else throw bad(`has an unknown HDF5 superblock version ${version}`);
  if (![2, 4, 8].includes(sizeOfOffsets)) throw bad(`has an invalid HDF5 superblock (offset size ${sizeOfOffsets})`);
  const eofAt = baseAt + 2 * sizeOfOffsets;
  if (eofAt + sizeOfOffsets > bytes.length) throw bad('ends inside its HDF5 superblock');
  const undefinedAddress = bytes.subarray(eofAt, eofAt + sizeOfOffsets).every((b) => b === 0xff);
  if (undefinedAddress) return;
  const end = unsigned(bytes, baseAt, sizeOfOffsets) + unsigned(bytes, eofAt, sizeOfOffsets);
  if (bytes.length < end) throw bad(`holds ${bytes.length} bytes but its HDF5 superblock says ${end}`);
}

let crcTable: Uint32Array | null = null;

function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The entries of a zip file, each checked against the CRC-32 its central directory records
 * (fflate does not check them: a flipped byte in a stored entry would pass unnoticed).
 */
export function unzipVerified(bytes: Uint8Array, source: string): Record<string, Uint8Array> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new UserError(`${source} is not a valid .keras (zip) file (${(e as Error).message}); the file is truncated or corrupt, save the model again.`);
  }
  // walk the central directory (APPNOTE 4.3.12) for the recorded CRC-32 of each entry
  let end = bytes.length - 22;
  while (end > 0 && unsigned(bytes, end, 4) !== 0x06054b50) end--;
  const count = unsigned(bytes, end + 10, 2);
  let o = unsigned(bytes, end + 16, 4);
  for (let i = 0; i < count && o + 46 <= bytes.length && unsigned(bytes, o, 4) === 0x02014b50; i++) {
    const crc = unsigned(bytes, o + 16, 4);
    const nameLen = unsigned(bytes, o + 28, 2);
    const name = Buffer.from(bytes.subarray(o + 46, o + 46 + nameLen)).toString('utf8');
    const data = files[name];
    if (data && crc32(data) !== crc) throw new UserError(`${source} has a corrupt entry '${name}' (CRC-32 mismatch); the file is corrupt, save the model again.`);
    o += 46 + nameLen + unsigned(bytes, o + 30, 2) + unsigned(bytes, o + 32, 2);
  }
  return files;
}

/** config.json of a .keras file, compiled into our layers: the trainable parameter count. */
export function kerasConfigParams(cfg: Uint8Array, source: string): { topology: Json; params: number } {
  let topology: Json;
  try {
    topology = JSON.parse(Buffer.from(cfg).toString('utf8')) as Json;
  } catch (e) {
    throw new UserError(`config.json in ${source} is not valid JSON (${(e as Error).message}); save the model again with model.save('m.keras').`);
  }
  const graph = parseTopology(topology, source);
  const shapes = new Map<string, number[]>([[INPUT, graph.inputShape]]);
  let params = 0;
  for (const n of topoSort(graph, source)) {
    const c = compileLayer(n, n.inbound.map((i) => shapes.get(i) as number[]), n.name === graph.output);
    shapes.set(n.name, c.outShape);
    for (const w of c.weights) if (w.trainable) params += w.shape.reduce((a, b) => a * b, 1);
  }
  return { topology, params };
}

/**
 * Structural check of a `.h5` / `.keras` file (no HDF5 library): a `.keras` file's topology is
 * compiled (params counted); a `.h5` file keeps its topology inside HDF5, so params is null.
 */
export function checkKerasBytes(bytes: Uint8Array, fileName: string, source: string): { params: number | null } {
  if (!fileName.toLowerCase().endsWith('.keras')) {
    checkHdf5Structure(bytes, source);
    return { params: null };
  }
  const files = unzipVerified(bytes, source);
  const cfg = files['config.json'];
  const weights = files['model.weights.h5'];
  if (!cfg || !weights) throw new UserError(`${source} lacks config.json or model.weights.h5; save it with model.save('m.keras').`);
  const { params } = kerasConfigParams(cfg, source);
  checkHdf5Structure(weights, `model.weights.h5 in ${source}`);
  return { params };
}
