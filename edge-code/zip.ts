/**
 * Deterministic zip files for Lambda code: entries in the given order, a fixed timestamp and
 * mode, maximum deflate (fflate's, pure JavaScript: the same bytes on every machine and Node
 * version, where zlib's output may change with the zlib Node ships). Same input bytes, same zip
 * bytes, so `source_code_hash` only changes when code changes and `cdktf plan` stays empty
 * otherwise. Also a reader, used by the tests and the local mode to load exactly the code that ships.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { zipSync, type ZipOptions } from 'fflate';

export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
}

const ENTRY_OPTIONS: ZipOptions = {
  level: 9,
  // 1980-01-01 00:00:00, the earliest time a zip can store: no build time leaks into the bytes.
  // fflate writes the local-time fields of the date, so it is built from local fields too.
  mtime: new Date(1980, 0, 1, 0, 0, 0),
  // Made by Unix, so the high word of the external attributes is a mode: -rw-r--r-- regular file.
  os: 3,
  attrs: (0o100644 << 16) >>> 0,
};

export function createZip(entries: readonly ZipEntry[]): Buffer {
  const files: Record<string, [Uint8Array, ZipOptions]> = {};
  for (const entry of entries) {
    if (Object.hasOwn(files, entry.name)) throw new Error(`zip entry ${entry.name} given twice`);
    // A name that reads as an array index would be moved to the front of a JavaScript object.
    if (/^\d+$/.test(entry.name))
      throw new Error(`zip entry ${entry.name}: a name of digits only is not kept in order`);
    files[entry.name] = [entry.data, ENTRY_OPTIONS];
  }
  const zip = zipSync(files);
  return Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
}

export interface ReadZipEntry extends ZipEntry {
  readonly mode: number;
}

/** Reads a zip written by any tool that uses stored or deflated entries (no zip64). */
export function readZip(zip: Buffer): ReadZipEntry[] {
  const endOffset = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (endOffset < 0) throw new Error('not a zip file: no end of central directory');
  const count = zip.readUInt16LE(endOffset + 10);
  let cursor = zip.readUInt32LE(endOffset + 16);
  const entries: ReadZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(cursor) !== 0x02014b50) throw new Error('corrupt zip: bad central directory entry');
    const method = zip.readUInt16LE(cursor + 10);
    const crc = zip.readUInt32LE(cursor + 16);
    const compressedSize = zip.readUInt32LE(cursor + 20);
    const nameLength = zip.readUInt16LE(cursor + 28);
    const extraLength = zip.readUInt16LE(cursor + 30);
    const commentLength = zip.readUInt16LE(cursor + 32);
    const mode = zip.readUInt32LE(cursor + 38) >>> 16;
    const localOffset = zip.readUInt32LE(cursor + 42);
    const name = zip.toString('utf8', cursor + 46, cursor + 46 + nameLength);
    const localNameLength = zip.readUInt16LE(localOffset + 26);
    const localExtraLength = zip.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + localNameLength + localExtraLength;
    const raw = zip.subarray(start, start + compressedSize);
    const data = method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : undefined;
    if (!data) throw new Error(`zip entry ${name}: unsupported compression method ${method}`);
    if (crc32(data) !== crc) throw new Error(`zip entry ${name}: CRC mismatch`);
    entries.push({ name, data, mode });
    cursor += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
