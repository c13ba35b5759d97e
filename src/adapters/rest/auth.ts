/**
 * API keys per client system. A client presents its key in `X-API-Key` (or as
 * `Authorization: Bearer <key>`); the edge keeps only the keys' SHA-256 (edge.json `api.keys`,
 * made by `lienthong apikey new`) and compares hashes in constant time. The client's name is
 * what the outbox records as the submitter. Routes with `config: { public: true }` (health)
 * need no key; the OpenAPI pages are outside the authenticated scope.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { newSecret } from '../../ids.js';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { ApiKeyConfig } from '../../edge/config.js';
import { LtError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated client system's name (edge.json `api.keys[].name`). */
    apiClient?: string;
  }
  interface FastifyContextConfig {
    /** Served without an API key. */
    public?: boolean;
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

interface KnownKey {
  name: string;
  hash: Buffer;
}

/** A new random key (`lt_` + 43 base64url characters = 256 bits) and what to configure for it. */
export function newApiKey(name: string): { key: string; entry: ApiKeyConfig } {
  const key = `lt_${newSecret(32)}`;
  return { key, entry: { name, sha256: hashApiKey(key) } };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function knownKeys(keys: readonly ApiKeyConfig[]): KnownKey[] {
  return keys.map((k, i) => {
    if (typeof k?.name !== 'string' || k.name.trim() === '') {
      throw new LtError('CONFIG_INVALID', `api.keys[${i}] has no "name" (the client system it belongs to)`, { path: `api.keys[${i}].name` });
    }
    if (typeof k.sha256 !== 'string' || !SHA256_HEX.test(k.sha256)) {
      throw new LtError('CONFIG_INVALID', `api.keys[${i}] ("${k.name}") needs "sha256": the 64 hex digits printed by "lienthong apikey new"`, {
        path: `api.keys[${i}].sha256`,
      });
    }
    return { name: k.name, hash: Buffer.from(k.sha256, 'hex') };
  });
}

/** The key a request presents, if any. */
export function presentedKey(request: Pick<FastifyRequest, 'headers'>): string | undefined {
  const header = request.headers['x-api-key'];
  const apiKey = Array.isArray(header) ? header[0] : header;
  if (apiKey) return apiKey.trim();
  const authorization = request.headers.authorization;
  const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return bearer?.[1];
}

/**
 * The client a key belongs to, or undefined. Every configured hash is compared (no early exit),
 * each with `timingSafeEqual`, so the answer takes the same time whichever key matched.
 */
export function clientOf(key: string, keys: readonly KnownKey[]): string | undefined {
  const hash = createHash('sha256').update(key, 'utf8').digest();
  let found: string | undefined;
  for (const known of keys) {
    if (timingSafeEqual(hash, known.hash) && found === undefined) found = known.name;
  }
  return found;
}

/**
 * The API keys in force. SIGHUP replaces them whole (`lienthong edge` reads edge.json again), so
 * that a client is added, or a leaked key revoked, without stopping the edge.
 */
export class ApiKeyring {
  private known: KnownKey[];

  /** Checked now: a bad entry stops `lienthong edge` before it listens. */
  constructor(keys: readonly ApiKeyConfig[]) {
    this.known = knownKeys(keys);
  }

  /** Every entry is checked first: one bad entry throws and the keys in force stay. */
  replace(keys: readonly ApiKeyConfig[]): void {
    this.known = knownKeys(keys);
  }

  /** The client systems that have a key. */
  get clients(): string[] {
    return this.known.map((k) => k.name);
  }

  clientOf(key: string): string | undefined {
    return clientOf(key, this.known);
  }
}

/**
 * The onRequest hook that requires a valid key on every route of the scope it is added to,
 * except routes with `config: { public: true }`. The keys are read from `keys` at each request.
 */
export function apiKeyHook(keys: ApiKeyring): onRequestAsyncHookHandler {
  return async function authenticate(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (request.routeOptions.config.public) return;
    const key = presentedKey(request);
    if (!key) {
      void reply.header('www-authenticate', 'Bearer realm="lienthong"');
      throw new LtError('AUTH_REQUIRED', 'this API needs a key: send it in the X-API-Key header (or Authorization: Bearer <key>)');
    }
    const client = keys.clientOf(key);
    if (!client) {
      void reply.header('www-authenticate', 'Bearer realm="lienthong", error="invalid_token"');
      throw new LtError('AUTH_REQUIRED', keys.clients.length > 0 ? 'the API key is not valid for this edge' : 'this edge has no API keys configured (edge.json api.keys)');
    }
    request.apiClient = client;
  };
}
