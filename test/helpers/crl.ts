/**
 * CRLs and certificates made during a test with the development issuing CA (certs-dev/), and a
 * local HTTP server playing a CA's CRL distribution point whose CRL the test changes at will.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import { loadSigningIdentity } from '../../src/crypto/certificates.js';
import { cryptoEngine } from '../../src/crypto/engine.js';
import * as x509 from '../../src/crypto/x509.js';
import { CERTS, issueCertificate, openssl, SIGNER_EXTENSIONS, type SelfMadeCa } from './pki.js';

/**
 * The development issuing CA, copied into `dir`: openssl writes its serial file beside the CA
 * certificate, and certs-dev/ is committed.
 */
export function devIssuingCa(dir: string): SelfMadeCa {
  const caCertPath = join(dir, 'issuing-ca.pem');
  const caKeyPath = join(dir, 'issuing-ca.key.pem');
  copyFileSync(join(CERTS, 'issuing-ca.pem'), caCertPath);
  copyFileSync(join(CERTS, 'issuing-ca.key.pem'), caKeyPath);
  return { caCertPath, caKeyPath };
}

export interface CrlSpec {
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Serial numbers (hex, as X509Certificate.serialNumber gives them) listed as revoked. */
  revoked?: string[];
}

/** A CRL signed by `ca`, DER-encoded. */
export async function makeCrl(ca: SelfMadeCa, spec: CrlSpec): Promise<Buffer> {
  const issuer = await loadSigningIdentity(readFileSync(ca.caKeyPath, 'utf8'), readFileSync(ca.caCertPath, 'utf8'));
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: issuer.certificate.subjectName,
      signingKey: issuer.key,
      signingAlgorithm: issuer.kind === 'rsa' ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', hash: 'SHA-256' },
      thisUpdate: spec.thisUpdate,
      ...(spec.nextUpdate ? { nextUpdate: spec.nextUpdate } : {}),
      entries: (spec.revoked ?? []).map((serialNumber) => ({ serialNumber, revocationDate: spec.thisUpdate, reason: x509.X509CrlReason.keyCompromise })),
    },
    cryptoEngine(),
  );
  return Buffer.from(crl.rawData);
}

export function crlPem(der: Buffer): string {
  return `${x509.PemConverter.encode(new Uint8Array(der), 'X509 CRL')}\n`;
}

/**
 * A signing key and certificate for `organId` issued by `ca` with openssl, naming `cdp` as its
 * CRL distribution point when given. Returns the key and certificate paths and the serial.
 */
export function issueSigner(dir: string, ca: SelfMadeCa, organId: string, name: string, file: string, cdp?: string): { key: string; cert: string; serial: string } {
  const key = join(dir, `${file}.key.pem`);
  openssl(dir, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key);
  const extensions = `${SIGNER_EXTENSIONS}${cdp ? `crlDistributionPoints=URI:${cdp}\n` : ''}`;
  const cert = issueCertificate(dir, ca, key, organId, name, file, extensions);
  const serial = new x509.X509Certificate(readFileSync(cert, 'utf8')).serialNumber;
  return { key, cert, serial };
}

export interface CrlServer {
  /** The URL of the CRL. */
  url: string;
  /** What the server answers: a CRL (DER), or an HTTP status with a body. */
  serve(answer: Buffer | { status: number; body?: string }): void;
  /** Requests answered so far. */
  requests(): number;
}

/** An HTTP distribution point on 127.0.0.1, closed when the test ends. */
export async function startCrlServer(t: Test, path = '/issuing-ca.crl'): Promise<CrlServer> {
  let answer: Buffer | { status: number; body?: string } = { status: 404 };
  let requests = 0;
  const server: Server = createServer((request, response) => {
    requests++;
    if (request.url !== path) return void response.writeHead(404).end();
    if (Buffer.isBuffer(answer)) return void response.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(answer);
    response.writeHead(answer.status).end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // the nodes' keep-alive sockets would hold the close
      }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    serve(next) {
      answer = next;
    },
    requests: () => requests,
  };
}
