/**
 * Hostile zip archives for the tests, built byte by byte: src/archive/zip.ts writes only
 * archives it would accept, and the reader's tests need ones that lie (about sizes, CRCs,
 * names, offsets) exactly where an attacker would.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';

export interface ForgedEntry {
  /** A string is written as UTF-8 (with the UTF-8 flag unless `flags` says otherwise). */
  name: string | Uint8Array;
  /** The content; deflated for method 8 unless `compressed` gives the stored bytes. */
  data?: Uint8Array | string;
  compressed?: Uint8Array;
  method?: number;
  flags?: number;
  /** Declared CRC-32 and uncompressed size (default: those of `data`). */
  crc?: number;
  size?: number;
  madeBy?: number;
  externalAttributes?: number;
  /** The central directory record's extra field. */
  extra?: Uint8Array;
  /** What the local header says where it differs from the central record; false: write none. */
  local?: false | { name?: string | Uint8Array; size?: number };
  /** The central record's local header offset (default: where its local header was written). */
  localOffset?: number;
}

export interface ForgeOptions {
  /** The entry count the end record declares. */
  total?: number;
  /** Bytes appended to the end record as it is (a comment whose length field says otherwise). */
  after?: Uint8Array;
}

const bytesOf = (v: string | Uint8Array): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));

/** The local section (header and data) of each entry, then the central directory and the end record. */
export function forgeZip(entries: ForgedEntry[], options: ForgeOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = bytesOf(e.data ?? '');
    const method = e.method ?? 8;
    const compressed = e.compressed ? Buffer.from(e.compressed) : method === 8 ? deflateRawSync(data) : data;
    const name = bytesOf(e.name);
    const flags = e.flags ?? (typeof e.name === 'string' ? 0x0800 : 0);
    const crc = e.crc ?? crc32(data);
    const size = e.size ?? data.length;
    const header = (n: Buffer, declaredSize: number): Buffer => {
      const h = Buffer.alloc(30);
      h.writeUInt32LE(0x04034b50, 0);
      h.writeUInt16LE(20, 4);
      h.writeUInt16LE(flags, 6);
      h.writeUInt16LE(method, 8);
      h.writeUInt16LE(0x21, 12);
      h.writeUInt32LE(crc, 14);
      h.writeUInt32LE(compressed.length, 18);
      h.writeUInt32LE(declaredSize, 22);
      h.writeUInt16LE(n.length, 26);
      return Buffer.concat([h, n]);
    };
    let localAt = offset;
    if (e.local !== false) {
      const local = header(e.local?.name !== undefined ? bytesOf(e.local.name) : name, e.local?.size ?? size);
      parts.push(local, compressed);
      offset += local.length + compressed.length;
    } else {
      localAt = 0;
    }
    const extra = Buffer.from(e.extra ?? []);
    const r = Buffer.alloc(46);
    r.writeUInt32LE(0x02014b50, 0);
    r.writeUInt16LE(e.madeBy ?? 20, 4);
    r.writeUInt16LE(20, 6);
    r.writeUInt16LE(flags, 8);
    r.writeUInt16LE(method, 10);
    r.writeUInt16LE(0x21, 14);
    r.writeUInt32LE(crc, 16);
    r.writeUInt32LE(compressed.length, 20);
    r.writeUInt32LE(size, 24);
    r.writeUInt16LE(name.length, 28);
    r.writeUInt16LE(extra.length, 30);
    r.writeUInt32LE(e.externalAttributes ?? 0, 38);
    r.writeUInt32LE(e.localOffset ?? localAt, 42);
    central.push(r, name, extra);
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.total ?? entries.length, 8);
  end.writeUInt16LE(options.total ?? entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end, Buffer.from(options.after ?? [])]);
}

/** The local section of the only entry of a forged archive: what another entry may be made to contain. */
export function localSection(entry: ForgedEntry): Buffer {
  const zip = forgeZip([entry]);
  return zip.subarray(0, zip.readUInt32LE(zip.length - 6));
}

/**
 * Raw deflate of `mib` MiB of zeros, about 1 KiB per MiB, without ever holding the zeros: the
 * stream of one MiB ends with a full flush (no back references into it), so it can be repeated.
 */
export function deflatedZeros(mib: number): { compressed: Buffer; crc: number; size: number } {
  const mebibyte = Buffer.alloc(1024 * 1024);
  const chunk = deflateRawSync(mebibyte, { finishFlush: constants.Z_FULL_FLUSH });
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(mebibyte, crc);
  const compressed = Buffer.concat([...Array<Buffer>(mib).fill(chunk), deflateRawSync(Buffer.alloc(0))]);
  return { compressed, crc, size: mib * mebibyte.length };
}
