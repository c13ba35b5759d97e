/**
 * The crypto engine signatures are made and checked with, @peculiar/x509's included. Node's
 * own is the default (native OpenSSL: much faster than the JavaScript polyfill, see
 * `npm run bench`); with it, packet signature values go through node:crypto KeyObjects
 * (signature-value.ts) and certificates and CRLs through Node's webcrypto. @peculiar/webcrypto
 * can be chosen for comparison, and then does all of it.
 */
import { webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';
import * as x509 from './x509.js';

export type CryptoEngineName = 'node' | 'peculiar';

/**
 * The polyfill is loaded only when asked for, and through require(): its ESM build is ESM in a
 * plain .js file of a package without "type": "module", which only Node's syntax detection
 * accepts; the TypeScript loader of the test runner (ts-node) loads it as CommonJS and fails
 * ("does not provide an export named 'Crypto'"). The CommonJS build works everywhere.
 */
function peculiarCrypto(): Crypto {
  const { Crypto: PeculiarCrypto } = createRequire(import.meta.url)('@peculiar/webcrypto') as typeof import('@peculiar/webcrypto');
  return new PeculiarCrypto() as unknown as Crypto;
}

let current: { name: CryptoEngineName; crypto: Crypto } | undefined;

export function useCryptoEngine(name: CryptoEngineName = 'node'): Crypto {
  if (current?.name === name) return current.crypto;
  const crypto = name === 'node' ? (webcrypto as unknown as Crypto) : peculiarCrypto();
  x509.cryptoProvider.set(crypto);
  current = { name, crypto };
  return crypto;
}

/** The WebCrypto in use, initialising the default engine on first use. */
export function cryptoEngine(): Crypto {
  return current?.crypto ?? useCryptoEngine('node');
}

/** The name of the engine in use, initialising the default engine on first use. */
export function cryptoEngineName(): CryptoEngineName {
  if (!current) useCryptoEngine('node');
  return current?.name ?? 'node';
}
