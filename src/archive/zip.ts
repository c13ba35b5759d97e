/**
 * Zip archives in memory: reading the attachments other agencies send (the national exchange
 * SDK zips every attachment) and writing lienthong's own archives. Pure and synchronous.
 *
 * An archive from outside is hostile until checked. The reader believes the central directory
 * only once every record agrees with its local header, every entry lies inside the archive and
 * apart from the others, every name is a harmless relative path, and the sizes the archive
 * declares are within the limits; then inflation is capped at the declared size, so that a
 * lie about a size fails after at most that many bytes, and every CRC-32 is checked.
 *
 * ZIP64 is refused rather than read: it exists for entries over 4 GiB and archives of more than
 * 65535 entries, both far beyond any limit here, so a ZIP64 archive is one we would refuse for
 * its size anyway, and reading it would add a second set of sizes and offsets to cross-check.
 */
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { VN_UTC_OFFSET_MINUTES } from '../envelope/values.js';
import { formatBytes, formatSizes } from '../envelope/xml.js';
import { LtError, type ErrorCode } from '../errors.js';

export interface ZipLimits {
  /** Records in the central directory, folders included. */
  maxEntries: number;
  /** Uncompressed bytes of one entry. */
  maxEntryBytes: number;
  /** Uncompressed bytes of all entries together. */
  maxTotalBytes: number;
  /** Uncompressed size over compressed size of one entry (applies above RATIO_FLOOR bytes). */
  maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = Object.freeze({
  maxEntries: 1000,
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
  maxRatio: 200,
});

/**
 * Small files of blank pages or empty spreadsheet cells compress a thousandfold; below this
 * size the per-entry and total limits bound the harm, so the ratio would only refuse honest files.
 */
const RATIO_FLOOR = 1024 * 1024;

export interface ZipEntryInfo {
  /** Relative, '/'-separated, NFC-normalised. */
  path: string;
  size: number;
  compressedSize: number;
  modified: Date;
}

export interface ZipFile extends ZipEntryInfo {
  data: Buffer;
}

export interface ZipInput {
  path: string;
  data: Uint8Array | string;
  modified?: Date;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;

const LOCAL_SIZE = 30;
const CENTRAL_SIZE = 46;
const END_SIZE = 22;
const MAX_COMMENT = 0xffff;

const FLAG_ENCRYPTED = 0x0001;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_UTF8 = 0x0800;
const FLAG_MASKED_HEADERS = 0x2000;
/** The flags that change how an entry is read: local header and central directory must agree on them. */
const FLAGS_COMPARED = FLAG_ENCRYPTED | FLAG_DESCRIPTOR | FLAG_UTF8;

const STORED = 0;
const DEFLATED = 8;
const METHOD_NAMES: Record<number, string> = { 1: 'shrink', 6: 'implode', 9: 'deflate64', 12: 'bzip2', 14: 'LZMA', 93: 'Zstandard', 95: 'XZ', 98: 'PPMd', 99: 'WinZip AES' };

const EXTRA_UNICODE_PATH = 0x7075;
const EXTRA_TIMESTAMP = 0x5455;

const VERSION = 20;
/** "Made by" Unix, so that extractors apply the mode in the external attributes. */
const MADE_BY = (3 << 8) | VERSION;
const REGULAR_FILE_MODE = 0o100644;
const UNIX_TYPE_MASK = 0o170000;
const UNIX_REGULAR = 0o100000;
const UNIX_DIRECTORY = 0o040000;

const ZIP64_HINT = 'ask the sender to split it into smaller archives, or to re-create it without ZIP64';

function fail(code: ErrorCode, message: string, path?: string): LtError {
  return new LtError(code, message, path === undefined ? {} : { path });
}

/** Plain, pure zip bytes: a local file header or the end record of an empty archive. */
export function isZip(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 4) return false;
  const signature = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
  return signature === SIG_LOCAL || (signature === SIG_END && bytes.byteLength >= END_SIZE);
}

// --- Names ------------------------------------------------------------------------------------

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes 0x80-0xFF of code page 437, the encoding of names written without the UTF-8 flag. */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function extraField(extra: Buffer, id: number): Buffer | undefined {
  // Padding after the last field (zipalign writes some) is not a field: stop where one no longer fits.
  for (let at = 0; at + 4 <= extra.length; ) {
    const size = extra.readUInt16LE(at + 2);
    if (at + 4 + size > extra.length) return undefined;
    if (extra.readUInt16LE(at) === id) return extra.subarray(at + 4, at + 4 + size);
    at += 4 + size;
  }
  return undefined;
}

/**
 * The entry name as text. With the UTF-8 flag (the SDK's Java writer sets it) the name must be
 * UTF-8. Without it the standard says CP437, but Info-ZIP on Linux, macOS and 7-Zip write the
 * bytes of a UTF-8 name without the flag; a valid multi-byte UTF-8 sequence is not a name anyone
 * writes in CP437 (it reads as box-drawing characters), so valid UTF-8 is taken as UTF-8.
 */
function decodeName(raw: Buffer, flags: number, extra: Buffer, record: number): string {
  if (flags & FLAG_UTF8) {
    try {
      return UTF8.decode(raw);
    } catch {
      throw fail('ZIP_INVALID', `the name of central directory record ${record} is flagged as UTF-8 but is not UTF-8; the archive is corrupt`);
    }
  }
  const unicode = extraField(extra, EXTRA_UNICODE_PATH);
  if (unicode && unicode.length > 5 && unicode[0] === 1 && unicode.readUInt32LE(1) === crc32(raw)) {
    try {
      return UTF8.decode(unicode.subarray(5));
    } catch {
      // A broken Info-ZIP Unicode name leaves the name itself, decoded below.
    }
  }
  if (raw.every((b) => b < 0x80)) return raw.toString('latin1');
  try {
    return UTF8.decode(raw);
  } catch {
    let name = '';
    for (const b of raw) name += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
    return name;
  }
}

/** C0 and C1 controls, and the bidirectional overrides that make "gpj.exe" display as "exe.jpg". */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const DRIVE = /^[A-Za-z]:/;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * A name as a safe relative path, or ZIP_UNSAFE. The files end up on agency desktops, mostly
 * Windows, so a name is judged as Windows would read it too: a backslash separates folders,
 * a colon is a drive or an NTFS stream, trailing dots and spaces vanish, CON and NUL are devices.
 */
function entryPath(name: string): { path: string; directory: boolean } {
  const text = name.normalize('NFC');
  const label = JSON.stringify(text);
  const refuse = (why: string): LtError => fail('ZIP_UNSAFE', `entry ${label} ${why}`, text);
  const control = CONTROL.exec(text);
  if (control) {
    const hex = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw refuse(`has the control character U+${hex} in its name; ask the sender to rename the file and zip it again`);
  }
  const slashed = text.replaceAll('\\', '/');
  if (slashed.startsWith('/')) throw refuse('has an absolute path, which an extractor would write outside its folder; ask the sender to zip the files with relative names');
  if (DRIVE.test(slashed)) throw refuse('starts with a drive letter, which an extractor would write outside its folder; ask the sender to zip the files with relative names');
  const segments = slashed.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0) throw refuse('has no name');
  for (const segment of segments) {
    if (segment === '..') throw refuse('climbs out of its folder with ".." (path traversal); the archive is refused whole, do not extract it with another tool');
    if (/^[. ]+$/.test(segment)) throw refuse(`has the folder name ${JSON.stringify(segment)}, which Windows reads as ".." or nothing`);
    if (segment.includes(':')) throw refuse('has a colon in its name, a drive letter or a hidden NTFS stream on Windows; ask the sender to rename the file');
    if (WINDOWS_DEVICE.test(segment)) throw refuse(`has the name ${JSON.stringify(segment)}, a device on Windows; ask the sender to rename the file`);
  }
  return { path: segments.join('/'), directory: slashed.endsWith('/') };
}

/** Names as a case-insensitive filesystem that drops trailing dots and spaces (Windows) sees them. */
const nameKey = (path: string): string =>
  path
    .split('/')
    .map((s) => s.replace(/[. ]+$/, '').toLowerCase())
    .join('/');

/** Refuses two entries that would land on the same file, or a file where a folder must be. */
class NameSet {
  private readonly files = new Map<string, string>();
  private readonly folders = new Map<string, string>();

  add(path: string, directory: boolean): void {
    const key = nameKey(path);
    if (directory) {
      this.folder(key, path);
      return;
    }
    const file = this.files.get(key);
    if (file !== undefined) {
      const same = file === path ? 'twice' : `and as ${JSON.stringify(file)}, the same file on Windows`;
      throw fail('ZIP_UNSAFE', `the archive names ${JSON.stringify(path)} ${same}; one would overwrite the other on extraction; ask the sender to rename one of them`, path);
    }
    if (this.folders.has(key)) throw this.fileAndFolder(path);
    this.files.set(key, path);
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) this.folder(nameKey(parts.slice(0, i).join('/')), parts.slice(0, i).join('/'));
  }

  private folder(key: string, path: string): void {
    if (this.files.has(key)) throw this.fileAndFolder(path);
    this.folders.set(key, path);
  }

  private fileAndFolder(path: string): LtError {
    return fail('ZIP_UNSAFE', `the archive has ${JSON.stringify(path)} both as a file and as a folder; one would overwrite the other on extraction; ask the sender to rename one of them`, path);
  }
}

// --- Dates ------------------------------------------------------------------------------------

/**
 * DOS date and time have no time zone; Java and Info-ZIP write local time, and the agencies'
 * local time is Vietnam's (UTC+7, no daylight saving). Reading and writing them as such keeps
 * the writer deterministic whatever the server's zone.
 */
const OFFSET_MS = VN_UTC_OFFSET_MINUTES * 60_000;
const DOS_FIRST = Date.UTC(1980, 0, 1) - OFFSET_MS;
const DOS_LAST = Date.UTC(2107, 11, 31, 23, 59, 58) - OFFSET_MS;

function fromDos(time: number, date: number): Date {
  const [year, month, day] = [1980 + (date >> 9), (date >> 5) & 0xf, date & 0x1f];
  const [hours, minutes, seconds] = [time >> 11, (time >> 5) & 0x3f, (time & 0x1f) * 2];
  if (month < 1 || month > 12 || day < 1 || hours > 23 || minutes > 59 || seconds > 59) return new Date(DOS_FIRST);
  return new Date(Date.UTC(year, month - 1, day, hours, minutes, seconds) - OFFSET_MS);
}

function toDos(instant: number): { time: number; date: number } {
  const local = new Date(Math.min(Math.max(instant, DOS_FIRST), DOS_LAST) + OFFSET_MS);
  return {
    date: ((local.getUTCFullYear() - 1980) << 9) | ((local.getUTCMonth() + 1) << 5) | local.getUTCDate(),
    time: (local.getUTCHours() << 11) | (local.getUTCMinutes() << 5) | (local.getUTCSeconds() >> 1),
  };
}

/** The Info-ZIP extended timestamp (UTC seconds), when present: exact where the DOS time is not. */
function modifiedOf(extra: Buffer, time: number, date: number): Date {
  const stamp = extraField(extra, EXTRA_TIMESTAMP);
  if (stamp && stamp.length >= 5 && stamp[0]! & 1) return new Date(stamp.readInt32LE(1) * 1000);
  return fromDos(time, date);
}

// --- Reading ----------------------------------------------------------------------------------

interface Entry {
  path: string;
  directory: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  modified: Date;
  /** From the local header to the end of the data descriptor. */
  start: number;
  end: number;
  dataStart: number;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The end record, searched backwards over at most the longest comment; its comment must end the file. */
function findEnd(b: Buffer): number {
  if (b.length < END_SIZE) throw fail('ZIP_INVALID', `the file has ${b.length} bytes, too few for a zip archive (at least ${END_SIZE}); it is truncated or not a zip`);
  const lowest = Math.max(0, b.length - END_SIZE - MAX_COMMENT);
  for (let at = b.length - END_SIZE; at >= lowest; at--) {
    if (b[at] === 0x50 && b.readUInt32LE(at) === SIG_END && at + END_SIZE + b.readUInt16LE(at + 20) === b.length) return at;
  }
  throw fail('ZIP_INVALID', 'the file has no end-of-central-directory record: it is not a zip archive, or it was truncated; ask the sender for the file again');
}

/** The data descriptor after streamed data (Java writes one for every deflated entry); its end. */
function descriptorEnd(b: Buffer, at: number, limit: number, e: { crc: number; compressedSize: number; size: number }): number | undefined {
  const agrees = (p: number) => p + 12 <= limit && b.readUInt32LE(p) === e.crc && b.readUInt32LE(p + 4) === e.compressedSize && b.readUInt32LE(p + 8) === e.size;
  if (at + 4 <= limit && b.readUInt32LE(at) === SIG_DESCRIPTOR && agrees(at + 4)) return at + 16;
  if (agrees(at)) return at + 12;
  return undefined;
}

/** Every central directory record, checked against the rest of the archive and the limits. */
function readEntries(input: Uint8Array, limits: ZipLimits): { b: Buffer; entries: Entry[] } {
  const b = asBuffer(input);
  const endAt = findEnd(b);
  if (endAt >= 20 && b.readUInt32LE(endAt - 20) === SIG_ZIP64_LOCATOR) {
    throw fail('ZIP_UNSUPPORTED', `the archive is in ZIP64 format, which lienthong does not read; ${ZIP64_HINT}`);
  }
  const [disk, directoryDisk, onDisk, total] = [b.readUInt16LE(endAt + 4), b.readUInt16LE(endAt + 6), b.readUInt16LE(endAt + 8), b.readUInt16LE(endAt + 10)];
  const [directorySize, directoryOffset] = [b.readUInt32LE(endAt + 12), b.readUInt32LE(endAt + 16)];
  if (total === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    throw fail('ZIP_UNSUPPORTED', `the archive is in ZIP64 format, which lienthong does not read; ${ZIP64_HINT}`);
  }
  if (disk !== 0 || directoryDisk !== 0 || onDisk !== total) {
    throw fail('ZIP_UNSUPPORTED', 'the archive is split over several files (a spanned or multi-volume zip); ask the sender for a single-file archive');
  }
  if (total > limits.maxEntries) {
    throw fail('ZIP_UNSAFE', `the archive has ${total} entries, more than the limit of ${limits.maxEntries}; ask the sender to split it into several attachments`);
  }
  if (directoryOffset + directorySize !== endAt) {
    throw fail(
      'ZIP_INVALID',
      `the central directory (${directorySize} bytes at offset ${directoryOffset}) does not end where the end record begins (offset ${endAt}); the archive is truncated, corrupt or has data prepended`,
    );
  }

  const names = new NameSet();
  const entries: Entry[] = [];
  let totalBytes = 0;
  let p = directoryOffset;
  for (let record = 1; record <= total; record++) {
    if (p + CENTRAL_SIZE > endAt || b.readUInt32LE(p) !== SIG_CENTRAL) {
      throw fail('ZIP_INVALID', `central directory record ${record} of ${total} is missing or corrupt at offset ${p}; the archive is truncated or corrupt`);
    }
    const madeBy = b.readUInt16LE(p + 4);
    const flags = b.readUInt16LE(p + 8);
    const method = b.readUInt16LE(p + 10);
    const [time, date] = [b.readUInt16LE(p + 12), b.readUInt16LE(p + 14)];
    const [crc, compressedSize, size] = [b.readUInt32LE(p + 16), b.readUInt32LE(p + 20), b.readUInt32LE(p + 24)];
    const [nameLength, extraLength, commentLength] = [b.readUInt16LE(p + 28), b.readUInt16LE(p + 30), b.readUInt16LE(p + 32)];
    const [startDisk, external, localOffset] = [b.readUInt16LE(p + 34), b.readUInt32LE(p + 38), b.readUInt32LE(p + 42)];
    const next = p + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (next > endAt) throw fail('ZIP_INVALID', `central directory record ${record} of ${total} runs past the end of the central directory; the archive is corrupt`);
    const rawName = b.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength);
    const extra = b.subarray(p + CENTRAL_SIZE + nameLength, p + CENTRAL_SIZE + nameLength + extraLength);
    p = next;

    const { path, directory } = entryPath(decodeName(rawName, flags, extra, record));
    const label = `entry ${JSON.stringify(path)}`;
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS) || method === 99) {
      throw fail('ZIP_UNSUPPORTED', `${label} is encrypted; lienthong cannot check or show what it cannot read; ask the sender for an archive without a password`, path);
    }
    if (method !== STORED && method !== DEFLATED) {
      const known = METHOD_NAMES[method] ? ` (${METHOD_NAMES[method]})` : '';
      throw fail('ZIP_UNSUPPORTED', `${label} is compressed with method ${method}${known}; only stored (0) and deflate (8) are read; ask the sender to zip it with the standard "deflate" compression`, path);
    }
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) {
      throw fail('ZIP_UNSUPPORTED', `${label} has ZIP64 sizes, which lienthong does not read; ${ZIP64_HINT}`, path);
    }
    if (startDisk !== 0) throw fail('ZIP_UNSUPPORTED', `${label} starts on another disk of a spanned archive; ask the sender for a single-file archive`, path);
    const unixType = (external >>> 16) & UNIX_TYPE_MASK;
    if (madeBy >> 8 === 3 && unixType !== 0 && unixType !== UNIX_REGULAR && unixType !== UNIX_DIRECTORY) {
      throw fail('ZIP_UNSAFE', `${label} is a symbolic link or a device, not a file; an extractor following it could write outside its folder; ask the sender to zip the files themselves`, path);
    }
    if (method === STORED && compressedSize !== size) {
      throw fail('ZIP_INVALID', `${label} is stored uncompressed but declares ${compressedSize} bytes stored and ${size} bytes of content; the archive is corrupt`, path);
    }
    if (directory && size !== 0) throw fail('ZIP_INVALID', `${label} is a folder but declares ${size} bytes of content; the archive is corrupt`, path);
    names.add(path, directory);

    if (size > limits.maxEntryBytes) {
      const [unpacked, limit] = formatSizes(size, limits.maxEntryBytes);
      throw fail('ZIP_UNSAFE', `${label} unpacks to ${unpacked}, more than the limit of ${limit} per file; ask the sender to send it unzipped or split`, path);
    }
    totalBytes += size;
    if (totalBytes > limits.maxTotalBytes) {
      throw fail('ZIP_UNSAFE', `the archive unpacks to more than the limit of ${formatBytes(limits.maxTotalBytes)} (passed at ${label}); ask the sender to split it into several attachments`, path);
    }
    if (size > RATIO_FLOOR && size > compressedSize * limits.maxRatio) {
      const ratio = compressedSize === 0 ? 'from nothing' : `${Math.round(size / compressedSize)} times`;
      throw fail('ZIP_UNSAFE', `${label} expands ${ratio} (${formatBytes(compressedSize)} to ${formatBytes(size)}), more than the limit of ${limits.maxRatio} times: a zip bomb; do not extract it`, path);
    }

    // The local header is what a streaming extractor reads; if it tells another story than the
    // central directory, a lister and an extractor would see different files.
    const at = localOffset;
    if (at + LOCAL_SIZE > directoryOffset || b.readUInt32LE(at) !== SIG_LOCAL) {
      throw fail('ZIP_INVALID', `${label} points to offset ${at}, where there is no local file header; the archive is truncated or corrupt`, path);
    }
    const localFlags = b.readUInt16LE(at + 6);
    const [localCrc, localCompressed, localSize] = [b.readUInt32LE(at + 14), b.readUInt32LE(at + 18), b.readUInt32LE(at + 22)];
    const [localNameLength, localExtraLength] = [b.readUInt16LE(at + 26), b.readUInt16LE(at + 28)];
    const dataStart = at + LOCAL_SIZE + localNameLength + localExtraLength;
    const sameName = at + LOCAL_SIZE + localNameLength <= directoryOffset && rawName.equals(b.subarray(at + LOCAL_SIZE, at + LOCAL_SIZE + localNameLength));
    // Streamed entries (data descriptor) may leave the local values zero.
    const agrees = (local: number, central: number) => local === central || (flags & FLAG_DESCRIPTOR && local === 0);
    if (
      !sameName ||
      b.readUInt16LE(at + 8) !== method ||
      (localFlags & FLAGS_COMPARED) !== (flags & FLAGS_COMPARED) ||
      !agrees(localCrc, crc) ||
      !agrees(localCompressed, compressedSize) ||
      !agrees(localSize, size)
    ) {
      throw fail('ZIP_INVALID', `${label}: its local header disagrees with the central directory (name, method, flags or sizes); the archive is corrupt or forged`, path);
    }
    let end = dataStart + compressedSize;
    if (end > directoryOffset) {
      throw fail('ZIP_INVALID', `${label}: its ${compressedSize} bytes of data at offset ${dataStart} run into the central directory; the archive is truncated or corrupt`, path);
    }
    if (flags & FLAG_DESCRIPTOR) {
      const after = descriptorEnd(b, end, directoryOffset, { crc, compressedSize, size });
      if (after === undefined) throw fail('ZIP_INVALID', `${label}: the data descriptor after its data is missing or disagrees with the central directory; the archive is corrupt`, path);
      end = after;
    }
    entries.push({ path, directory, method, crc, compressedSize, size, modified: modifiedOf(extra, time, date), start: at, end, dataStart });
  }
  if (p !== endAt) throw fail('ZIP_INVALID', `the central directory has ${endAt - p} bytes after its ${total} records; the archive is corrupt`);

  // Entries sharing bytes are how the smallest zip bombs multiply one compressed stream.
  const byStart = [...entries].sort((x, y) => x.start - y.start);
  for (let i = 1; i < byStart.length; i++) {
    const [before, entry] = [byStart[i - 1]!, byStart[i]!];
    if (entry.start < before.end) {
      throw fail('ZIP_UNSAFE', `entries ${JSON.stringify(before.path)} and ${JSON.stringify(entry.path)} overlap in the archive, the construction of a zip bomb; do not extract it`, entry.path);
    }
  }
  return { b, entries };
}

function inflateEntry(b: Buffer, e: Entry): Buffer {
  const label = `entry ${JSON.stringify(e.path)}`;
  const compressed = b.subarray(e.dataStart, e.dataStart + e.compressedSize);
  let data: Buffer;
  if (e.method === STORED) {
    data = Buffer.from(compressed);
  } else {
    let consumed: number;
    try {
      // Capped at the declared size, which the limits have accepted: a lying header costs no more.
      const result = inflateRawSync(compressed, { maxOutputLength: Math.max(1, e.size), info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      data = result.buffer;
      consumed = result.engine.bytesWritten;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw fail('ZIP_UNSAFE', `${label} inflates to more than the ${e.size} bytes it declares: a zip bomb or a forged header; do not extract it`, e.path);
      }
      throw fail('ZIP_INVALID', `${label} is corrupt: its compressed data cannot be inflated (${(error as Error).message}); ask the sender for the file again`, e.path);
    }
    if (consumed !== compressed.length) {
      throw fail('ZIP_INVALID', `${label} has ${compressed.length - consumed} bytes after the end of its compressed data; the archive is corrupt or carries hidden data`, e.path);
    }
  }
  if (data.length > e.size) throw fail('ZIP_UNSAFE', `${label} inflates to more than the ${e.size} bytes it declares: a forged header; do not extract it`, e.path);
  if (data.length < e.size) throw fail('ZIP_INVALID', `${label} inflates to ${data.length} bytes, not the ${e.size} it declares; the archive is corrupt`, e.path);
  const actual = crc32(data);
  if (actual !== e.crc) {
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    throw fail('ZIP_INVALID', `${label} is corrupt: its CRC-32 is ${hex(actual)}, the archive declares ${hex(e.crc)}; ask the sender for the file again`, e.path);
  }
  return data;
}

const info = (e: Entry): ZipEntryInfo => ({ path: e.path, size: e.size, compressedSize: e.compressedSize, modified: e.modified });

/**
 * The files of an archive, in archive order, without inflating anything: structure, names and
 * declared sizes are checked; the data of an entry is checked when it is read.
 */
export function listZip(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ZipEntryInfo[] {
  return readEntries(bytes, limits)
    .entries.filter((e) => !e.directory)
    .map(info);
}

/** Every file of an archive with its bytes; the whole archive is refused if any entry is bad. */
export function readZip(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ZipFile[] {
  const { b, entries } = readEntries(bytes, limits);
  return entries.filter((e) => !e.directory).map((e) => ({ ...info(e), data: inflateEntry(b, e) }));
}

/**
 * One file by its path as listZip gives it (compared after NFC normalisation), or undefined.
 * The whole archive is checked first: one hostile entry makes the archive hostile.
 */
export function readZipEntry(bytes: Uint8Array, path: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ZipFile | undefined {
  const { b, entries } = readEntries(bytes, limits);
  const wanted = path.normalize('NFC');
  const entry = entries.find((e) => !e.directory && e.path === wanted);
  return entry && { ...info(entry), data: inflateEntry(b, entry) };
}

// --- Writing ----------------------------------------------------------------------------------

/** The Info-ZIP extended timestamp; the same bytes serve the local header and the central directory. */
function timestampExtra(instant: number): Buffer {
  const seconds = Math.floor(instant / 1000);
  if (seconds < 0 || seconds > 0x7fffffff) return Buffer.alloc(0);
  const extra = Buffer.alloc(9);
  extra.writeUInt16LE(EXTRA_TIMESTAMP, 0);
  extra.writeUInt16LE(5, 2);
  extra.writeUInt8(1, 4);
  extra.writeInt32LE(seconds, 5);
  return extra;
}

/**
 * An archive of `files`, in the order given: deflated (stored when deflate would not shrink
 * them), UTF-8 names with the flag set, the same bytes for the same input (no time is read from
 * the clock: a file without `modified` is dated 1980-01-01). Names are checked as the reader
 * checks them, so lienthong never writes an archive it would refuse.
 */
export function writeZip(files: ReadonlyArray<ZipInput>): Buffer {
  if (files.length >= 0xffff) throw fail('ZIP_UNSUPPORTED', `${files.length} files need a ZIP64 archive, which lienthong does not write; split them into archives of fewer than 65535 files`);
  const names = new NameSet();
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const { path, directory } = entryPath(file.path);
    if (directory) throw new LtError('USAGE', `${JSON.stringify(file.path)} names a folder; give files only (their folders follow from their paths)`, { path: file.path });
    names.add(path, false);
    const instant = file.modified?.getTime() ?? DOS_FIRST;
    if (Number.isNaN(instant)) throw new LtError('USAGE', `the modification date of ${JSON.stringify(path)} is not a valid date`, { path });
    const data = typeof file.data === 'string' ? Buffer.from(file.data, 'utf8') : asBuffer(file.data);
    const deflated = deflateRawSync(data);
    const [method, stored] = deflated.length < data.length ? [DEFLATED, deflated] : [STORED, data];
    const name = Buffer.from(path, 'utf8');
    const extra = timestampExtra(instant);
    const { time, date } = toDos(instant);
    const crc = crc32(data);

    const local = Buffer.alloc(LOCAL_SIZE);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(FLAG_UTF8, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);

    const record = Buffer.alloc(CENTRAL_SIZE);
    record.writeUInt32LE(SIG_CENTRAL, 0);
    record.writeUInt16LE(MADE_BY, 4);
    record.writeUInt16LE(VERSION, 6);
    // From the flags to the name length, the central record repeats the local header.
    local.copy(record, 8, 6, 28);
    record.writeUInt16LE(extra.length, 30);
    record.writeUInt32LE((REGULAR_FILE_MODE << 16) >>> 0, 38);
    if (offset > 0xfffffffe) throw fail('ZIP_UNSUPPORTED', `the files before ${JSON.stringify(path)} already fill 4 GiB, which needs a ZIP64 archive; split them into several archives`, path);
    record.writeUInt32LE(offset, 42);

    parts.push(local, name, extra, stored);
    central.push(record, name, extra);
    offset += local.length + name.length + extra.length + stored.length;
  }
  const directory = Buffer.concat(central);
  if (offset > 0xfffffffe || directory.length > 0xfffffffe) throw fail('ZIP_UNSUPPORTED', 'the files fill more than 4 GiB, which needs a ZIP64 archive; split them into several archives');
  const end = Buffer.alloc(END_SIZE);
  end.writeUInt32LE(SIG_END, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}
