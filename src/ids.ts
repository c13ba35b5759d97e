/** Packet ids: random UUIDs for new packets, name-based ones where a retry must reproduce the id. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';

export function newPacketId(): string {
  return randomUUID();
}

/**
 * A UUID (version 8, RFC 9562) derived from `parts`: the hub's bounce for a given packet and
 * recipient gets the same id however often the packet is redelivered, so it is deduplicated
 * downstream like any other packet.
 */
export function derivedPacketId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const PACKET_ID = /^[0-9a-fA-F-]{8,64}$/;

export function isPacketId(value: unknown): value is string {
  return typeof value === 'string' && PACKET_ID.test(value);
}

/** A random secret (passwords shown once, API keys): `bytes` random bytes, URL-safe base64. */
export function newSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}
