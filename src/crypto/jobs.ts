/**
 * The work a crypto thread does, as plain data in and out. Used by the worker threads and,
 * unchanged, in-thread where blocking does not matter (CLI, tests).
 */
import { parsePacket } from '../envelope/parse.js';
import type { Packet } from '../envelope/types.js';
import { DEFAULT_XML_LIMITS, type XmlLimits } from '../envelope/xml.js';
import { LtError, asLtError, type ErrorCode, type ErrorContext } from '../errors.js';
import { loadSigningIdentity, type SigningIdentity } from './certificates.js';
import { signPacket, signPacketBytes } from './sign.js';
import { createTrustStore, type TrustMaterial, type TrustStore } from './trust.js';
import { verifyPacket, type Verification, type VerifyOptions } from './verify.js';

/** PEM texts of a signing identity: plain data, cheap to send to a thread. */
export interface IdentityMaterial {
  keyPem: string;
  certPem: string;
  chainPem?: string;
}

export type CryptoJob =
  | {
      op: 'sign';
      xml: Uint8Array | string;
      identity: IdentityMaterial;
      limits?: XmlLimits;
      /** The signed packet as its UTF-8 bytes rather than its text (CryptoPool.signBytes). */
      bytes?: boolean;
      /** The input was moved to this thread for the job alone: its memory goes once it is parsed. */
      release?: boolean;
    }
  | {
      op: 'verify';
      xml: Uint8Array | string;
      options?: Omit<VerifyOptions, 'now'> & { now?: number };
      /** The bytes were moved here: they go back with the result (CryptoPool.verifyLent). */
      giveBack?: boolean;
    }
  | { op: 'parse'; xml: Uint8Array | string; limits?: XmlLimits; release?: boolean };

export type CryptoJobResult =
  | { ok: true; op: 'sign'; xml: string | Uint8Array }
  | { ok: true; op: 'verify'; verification: Verification; input?: Uint8Array }
  | { ok: true; op: 'parse'; packet: Packet }
  | { ok: false; error: { code: ErrorCode; message: string; context: ErrorContext } };

/** Parses keys and trust anchors once per thread, not once per packet. */
export class CryptoJobRunner {
  private readonly identities = new Map<string, Promise<SigningIdentity>>();
  private trustStore: TrustStore | undefined;

  constructor(private trust?: TrustMaterial) {}

  /**
   * Verify the next jobs against new trust material (a refreshed CRL, reloaded anchors). A job
   * already running keeps the store it started with; the new one is parsed when first needed.
   */
  useTrust(trust: TrustMaterial): void {
    this.trust = trust;
    this.trustStore = undefined;
  }

  async run(job: CryptoJob): Promise<CryptoJobResult> {
    try {
      if (job.op === 'sign') {
        const identity = await this.identity(job.identity);
        const options = { ...(job.limits ? { limits: job.limits } : {}), releaseInput: job.release === true };
        return { ok: true, op: 'sign', xml: job.bytes ? await signPacketBytes(job.xml, identity, options) : await signPacket(job.xml, identity, options) };
      }
      if (job.op === 'parse') {
        return { ok: true, op: 'parse', packet: parsePacket(job.xml, job.limits ?? DEFAULT_XML_LIMITS, { releaseInput: job.release === true }) };
      }
      // Bytes lent are given back whole, whatever the options say.
      const options: VerifyOptions = { ...job.options, now: job.options?.now !== undefined ? new Date(job.options.now) : new Date(), ...(job.giveBack ? { releaseInput: false } : {}) };
      const verification = await verifyPacket(job.xml, this.store(), options);
      // A tree cannot cross to another thread; callers get the packet read from it.
      delete verification.document;
      return { ok: true, op: 'verify', verification, ...(job.giveBack && typeof job.xml !== 'string' ? { input: job.xml } : {}) };
    } catch (error) {
      const e = asLtError(error);
      return { ok: false, error: { code: e.code, message: e.message, context: e.context } };
    }
  }

  private identity(material: IdentityMaterial): Promise<SigningIdentity> {
    const cacheKey = `${material.certPem}\u0000${material.keyPem}\u0000${material.chainPem ?? ''}`;
    let identity = this.identities.get(cacheKey);
    if (!identity) {
      identity = loadSigningIdentity(material.keyPem, material.certPem, material.chainPem);
      identity.catch(() => this.identities.delete(cacheKey));
      this.identities.set(cacheKey, identity);
    }
    return identity;
  }

  private store(): TrustStore {
    if (!this.trust) throw new LtError('USAGE', 'verification needs trust anchors; none were configured');
    this.trustStore ??= createTrustStore(this.trust);
    return this.trustStore;
  }
}

/**
 * The ArrayBuffer to move to another thread instead of copying `bytes`, when they are all of
 * it: a view of part of a buffer (a small Buffer is one of Node's shared pool) would take the
 * rest along, and shared memory is not moved but shared.
 */
export function ownBuffer(bytes: Uint8Array): ArrayBuffer | undefined {
  const { buffer } = bytes;
  return buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength ? buffer : undefined;
}

/**
 * The buffers a worker moves to the caller instead of copying: the bytes of each attachment of
 * the packet a parse or a verification read, the packet's own bytes lent for a verification,
 * and a signed packet's bytes.
 * Posted as they are, a 75 MB attachment is copied twice (serialised in the worker,
 * deserialised on the main thread), both at the job's end, when the worker still holds the
 * packet's text: the peak of every node receiving a packet. Only bytes that own their whole
 * ArrayBuffer move (the parser decodes large attachments so); each buffer once, as postMessage
 * refuses a buffer listed twice.
 */
export function transferablesOf(result: CryptoJobResult): ArrayBuffer[] {
  const packet = !result.ok ? undefined : result.op === 'parse' ? result.packet : result.op === 'verify' ? result.verification.packet : undefined;
  const bytes = packet?.kind === 'document' ? (packet.attachments ?? []).map((a) => a.content) : [];
  if (result.ok && result.op === 'verify' && result.input) bytes.push(result.input);
  if (result.ok && result.op === 'sign' && typeof result.xml !== 'string') bytes.push(result.xml);
  const buffers = new Set<ArrayBuffer>();
  for (const content of bytes) {
    const buffer = ownBuffer(content);
    if (buffer) buffers.add(buffer);
  }
  return [...buffers];
}

export function unwrapResult(result: CryptoJobResult): Exclude<CryptoJobResult, { ok: false }> {
  if (!result.ok) throw new LtError(result.error.code, result.error.message, result.error.context);
  return result;
}
