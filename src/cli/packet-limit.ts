/**
 * `--max-packet-bytes`: the packet limit of the verbs that read packets without a node
 * configuration (sign, verify, validate), which nodes take from maxPacketBytes.
 */
import { getHeapStatistics } from 'node:v8';
import type { XmlLimits } from '../envelope/xml.js';
import { LtError } from '../errors.js';
import { heapMbFor, parsePacketSize } from '../packet-size.js';

export const PACKET_LIMIT_FLAG = '--max-packet-bytes';

export const PACKET_LIMIT_OPTIONS = { 'max-packet-bytes': { type: 'string' } } as const;

export const PACKET_LIMIT_HELP = `  --max-packet-bytes N  largest packet read (default 32M, at most 1G): bytes, or with K, M, G
                        (powers of 1024, also KiB, MiB, GiB) or KB, MB, GB (powers of 1000)`;

/** What the hint under a refusal says, so the operator need not look the flag up. */
export const PACKET_LIMIT_HINT = `${PACKET_LIMIT_FLAG} raises the limit (e.g. ${PACKET_LIMIT_FLAG} 200M; at most 1G)`;

const MiB = 1024 * 1024;

/**
 * The parsing limits for `value` (the flag's text; absent: the defaults). The command parses,
 * signs and verifies in its own thread, so that thread's heap must hold the largest packet
 * allowed: when it cannot, the operator is told how to start Node.js with more, rather than
 * V8 ending the process in the middle of a packet.
 */
export async function packetLimits(value: string | undefined): Promise<XmlLimits> {
  // Loaded only now: the XML parser is not part of a command's start-up until it parses.
  const { DEFAULT_XML_LIMITS, xmlLimitsFor } = await import('../envelope/xml.js');
  if (value === undefined) return DEFAULT_XML_LIMITS;
  const bytes = parsePacketSize(value, PACKET_LIMIT_FLAG);
  const neededMb = heapMbFor(bytes);
  const heapMb = Math.floor(getHeapStatistics().heap_size_limit / MiB);
  if (heapMb < neededMb) {
    throw new LtError(
      'USAGE',
      `${PACKET_LIMIT_FLAG} ${value} needs about ${neededMb} MiB of heap (8 × the limit) and this Node.js may use ${heapMb} MiB; ` +
        `run it with NODE_OPTIONS=--max-old-space-size=${neededMb}, or give a lower limit`,
    );
  }
  return xmlLimitsFor(bytes);
}
