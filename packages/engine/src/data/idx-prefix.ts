/**
 * The first rows of an IDX file (plain or gzipped) decoded from a prefix of the file: a slice
 * ending at END needs the header and END rows, not the whole set. A prefix cannot check that
 * the data length matches the header (a file cut short after the rows asked for still works);
 * a file cut short before them is an error that says how many rows it holds.
 */
import { UserError } from '@hessian/linalg';
import { readPrefix } from './file-read.js';
import { idxData, idxHeaderLength, parseIdxHeader, type IdxFile, type IdxHeader } from './idx.js';

/**
 * The header's dims and the data of the first `rows` rows (examples, along the first
 * dimension), or null when the header declares no more than `rows` rows or rows of zero
 * bytes: then the whole file is needed, and decoding it whole also checks its length.
 */
export async function readIdxRows(path: string, notFound: () => UserError, rows: number): Promise<IdxFile | null> {
  let header: IdxHeader | undefined;
  const prefix = await readPrefix(path, notFound, (out) => {
    const headerLen = idxHeaderLength(out);
    if (out.length < headerLen) return headerLen;
    header ??= parseIdxHeader(out, path);
    const rowBytes = rowBytesOf(header);
    if (rows >= header.dims[0] || rowBytes === 0) return null;
    return header.headerLen + rows * rowBytes;
  });
  if (prefix === null) return null;
  const { out } = prefix;
  // The file ended before its header did: the header's own messages say so.
  const h = header ?? parseIdxHeader(out, path);
  const rowBytes = rowBytesOf(h);
  const held = Math.floor((out.length - h.headerLen) / rowBytes);
  if (held < rows) {
    throw new UserError(
      `${path} holds only ${held} complete example(s) of the ${h.dims[0]} its IDX header declares (the file ends early); use a slice that ends at ${held} or before, or replace the file with a complete copy.`,
    );
  }
  return { dims: h.dims, data: idxData(out, h, (rows * rowBytes) / h.size, true) };
}

function rowBytesOf(h: IdxHeader): number {
  return h.dims.slice(1).reduce((a, d) => a * d, 1) * h.size;
}
