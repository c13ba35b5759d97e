/**
 * Certificates for TLS tests, made with openssl in a directory of the test's own: a CA, a server
 * certificate for 127.0.0.1 and localhost, client certificates by common name. Nothing of
 * certs-dev/ (those sign documents; these protect links).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa, openssl, type SelfMadeCa } from './pki.js';

export interface TlsCa extends SelfMadeCa {
  dir: string;
}

export interface KeyPair {
  cert: string;
  key: string;
}

/** A CA for links (`name` distinguishes several in one directory). */
export function makeTlsCa(dir: string, name = 'tls-ca'): TlsCa {
  return { dir, ...makeCa(dir, name, `/C=VN/O=lienthong test/CN=${name}`) };
}

function issue(ca: TlsCa, file: string, subject: string, extensions: string): KeyPair {
  const key = join(ca.dir, `${file}.key.pem`);
  const csr = join(ca.dir, `${file}.csr`);
  const ext = join(ca.dir, `${file}.ext`);
  const cert = join(ca.dir, `${file}.pem`);
  openssl(ca.dir, 'req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject);
  writeFileSync(ext, extensions);
  openssl(ca.dir, 'x509', '-req', '-in', csr, '-CA', ca.caCertPath, '-CAkey', ca.caKeyPath, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert);
  return { cert, key };
}

/** A server certificate for `names` (IP addresses and DNS names; default 127.0.0.1 and localhost). */
export function issueServerCertificate(ca: TlsCa, file = 'server', names: string[] = ['127.0.0.1', 'localhost']): KeyPair {
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  return issue(ca, file, `/C=VN/O=lienthong test/CN=${names[0] ?? 'server'}`, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
}

/** A client certificate whose common name is `commonName` (the broker user of an EXTERNAL login). */
export function issueClientCertificate(ca: TlsCa, file: string, commonName: string): KeyPair {
  return issue(ca, file, `/C=VN/O=lienthong test/CN=${commonName}`, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
}
