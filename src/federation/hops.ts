/**
 * Hop records: which hubs a packet passed through on its way between provinces. They travel in
 * the AMQP header `x-lt-hops` (JSON) and are stored in each hub's database beside the packet,
 * never inside the signed XML, whose bytes no hub changes.
 */
import type { Lane } from '../broker/names.js';

export const HOPS_HEADER = 'x-lt-hops';

/** Hubs a packet may have passed before a hub refuses it: provinces link directly, or through the national axis. */
export const MAX_HOPS = 4;

export interface Hop {
  /** The organ id of the hub that routed the packet on. */
  hub: string;
  /** Its name, for people reading the records. */
  name?: string;
  /** When it routed the packet on (ISO 8601). */
  at: string;
  lane: Lane;
}

/**
 * The hops a header carries; undefined when the header is not a list of hops (a peer of
 * another make, or someone who wrote it by hand): the packet's route is then unknown.
 */
export function parseHops(header: string | undefined): Hop[] | undefined {
  if (header === undefined || header === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length > 64) return undefined;
  const hops: Hop[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null) return undefined;
    const { hub, name, at, lane } = item as Record<string, unknown>;
    if (typeof hub !== 'string' || typeof at !== 'string' || (lane !== 'urgent' && lane !== 'normal')) return undefined;
    hops.push({ hub, ...(typeof name === 'string' ? { name } : {}), at, lane });
  }
  return hops;
}

export function hopsHeader(hops: readonly Hop[]): string {
  return JSON.stringify(hops);
}
