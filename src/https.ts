/**
 * HTTPS of the doors a person or a system calls (the edge's REST API, the hub's dashboard):
 * "api.tls" / "dashboard.tls" name a certificate and its key (PEM), read at start-up. Without
 * them the door serves plain HTTP, for a reverse proxy in front that terminates TLS.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { LtError } from './errors.js';

export interface HttpsFiles {
  /** Server certificate (PEM), followed by its intermediate CAs if any. */
  cert: string;
  key: string;
}

/** `section.tls` of a configuration file, paths made absolute by `resolve`; undefined when absent. */
export function httpsSetting(value: unknown, resolve: (path: string) => string, file: string, path: string): HttpsFiles | undefined {
  if (value === undefined) return undefined;
  const o = value as Partial<Record<string, unknown>> | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o) || typeof o.cert !== 'string' || typeof o.key !== 'string' || o.cert === '' || o.key === '') {
    throw new LtError('CONFIG_INVALID', `${file}: "${path}" must be {"cert": "server.pem", "key": "server.key.pem"} (PEM file paths)`, { path });
  }
  const unknown = Object.keys(o).find((k) => k !== 'cert' && k !== 'key');
  if (unknown) throw new LtError('CONFIG_INVALID', `${file}: "${path}.${unknown}" is not a setting; known: cert, key`, { path: `${path}.${unknown}` });
  return { cert: resolve(o.cert), key: resolve(o.key) };
}

/** The files' contents for node:https (fastify's `https` option), checked to belong together. */
export function loadHttpsFiles(files: HttpsFiles, path: string): { cert: Buffer; key: Buffer } {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new LtError('IO', `cannot read the ${what} of ${path} (${file}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { path: file });
    }
  };
  const cert = read(files.cert, 'certificate');
  const key = read(files.key, 'key');
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new LtError('CONFIG_INVALID', `${path}: ${files.cert} and ${files.key} must be a PEM certificate and its unencrypted PEM key: ${(error as Error).message}`, { path: files.cert });
  }
  if (!matches) throw new LtError('CONFIG_INVALID', `${path}: the key ${files.key} does not belong to the certificate ${files.cert}`, { path: files.key });
  return { cert, key };
}
