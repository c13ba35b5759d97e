/**
 * The largest packet a node or a command takes: how it is written (`200M`, `200MiB`,
 * `209715200`), how far it may go, and what memory it asks of whoever parses it.
 */
import { LtError } from './errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/**
 * Beyond this a packet is no longer something to hold in memory, canonicalise and sign as one
 * string: V8 strings stop at 512 MiB of one-byte text, and RabbitMQ's max_message_size at
 * 512 MiB. 1 GiB leaves room to say so with a clear error rather than a crash.
 */
export const MAX_PACKET_BYTES_CEILING = GiB;

/** Below this not even a status packet fits: a smaller limit is a typo. */
export const MIN_PACKET_BYTES = 4 * KiB;

/**
 * Heap, MiB, that parsing, signing or verifying the largest accepted packet needs: a 32 MiB
 * packet needs about 160 MiB (its text as two-byte characters, the DOM, the canonical form).
 * Near a heap cap one allocation of a large packet's text does not fit the little room V8
 * leaves to stop, and the whole process ends instead of the job: hence 8×, not 5×.
 */
export function heapMbFor(maxPacketBytes: number): number {
  return Math.ceil((8 * maxPacketBytes) / MiB);
}

// K, M, G and the IEC KiB, MiB, GiB are powers of 1024 (as dd and RabbitMQ read them); KB, MB,
// GB are powers of 1000, as a disk vendor means them.
const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: KiB,
  kib: KiB,
  kb: 1000,
  m: MiB,
  mib: MiB,
  mb: 1000 ** 2,
  g: GiB,
  gib: GiB,
  gb: 1000 ** 3,
};

/**
 * A byte size as an operator writes it: `209715200`, `200M`, `200MiB`, `1.5G`, `200 MB`.
 * Throws USAGE naming `flag` for anything else, and for a size outside [MIN, CEILING].
 */
export function parsePacketSize(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? UNITS[(match[2] as string).toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new LtError('USAGE', `${flag} is a size in bytes, e.g. 209715200, 200M or 200MiB (K, M, G: powers of 1024; KB, MB, GB: of 1000), not "${text}"`);
  }
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < MIN_PACKET_BYTES || bytes > MAX_PACKET_BYTES_CEILING) {
    throw new LtError('USAGE', `${flag} ${text} is ${bytes} bytes; it must be between ${MIN_PACKET_BYTES} (4K) and ${MAX_PACKET_BYTES_CEILING} (1G)`);
  }
  return bytes;
}
