/**
 * TLS to the broker (amqps://, and the management API over https://): which PEM files the
 * configuration names, reading them, and the socket options amqplib and node:https take. A
 * client certificate means the EXTERNAL login: the broker (rabbitmq_auth_mechanism_ssl) takes
 * the user from the certificate, and no password is sent.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { LtError } from '../errors.js';

/** PEM file paths (absolute once read from a configuration); hub.json / edge.json "brokerTls". */
export interface BrokerTls {
  /** The CA(s) the broker's certificate must chain to. Absent: the system's CAs. Env LT_BROKER_CA. */
  ca?: string;
  /** Client certificate (EXTERNAL login). Env LT_BROKER_CERT. */
  cert?: string;
  /** Its private key. Env LT_BROKER_KEY. */
  key?: string;
  /** The key's passphrase, when it is encrypted. Env LT_BROKER_KEY_PASSPHRASE. */
  passphrase?: string;
  /** The name the broker's certificate must carry, when the URL's host is not it (an address, a tunnel). */
  servername?: string;
}

/** The files' contents, ready for a TLS socket. */
export interface BrokerTlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
  servername?: string;
  /** The client certificate's subject common name: the broker user of an EXTERNAL login. */
  clientName?: string;
}

const TLS_KEYS = ['ca', 'cert', 'key', 'passphrase', 'servername'] as const;

/**
 * "brokerTls" of a configuration file, with the environment over it; paths relative to the
 * file's directory (`resolve`). Undefined when neither gives anything.
 */
export function brokerTlsSetting(raw: unknown, env: NodeJS.ProcessEnv, resolve: (path: string) => string, file: string): BrokerTls | undefined {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new LtError('CONFIG_INVALID', `${file}: "brokerTls" must be an object such as {"ca": "broker-ca.pem"} (PEM file paths: ca, cert, key; passphrase, servername)`, { path: 'brokerTls' });
  }
  const given = (raw ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(given)) {
    if (!(TLS_KEYS as readonly string[]).includes(name)) {
      throw new LtError('CONFIG_INVALID', `${file}: "brokerTls.${name}" is not a setting; known: ${TLS_KEYS.join(', ')}`, { path: `brokerTls.${name}` });
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new LtError('CONFIG_INVALID', `${file}: "brokerTls.${name}" must be a non-empty text`, { path: `brokerTls.${name}` });
    }
  }
  const pick = (name: (typeof TLS_KEYS)[number], envName: string, path: boolean): { [key: string]: string } => {
    const value = env[envName] || (given[name] as string | undefined);
    return value ? { [name]: path ? resolve(value) : value } : {};
  };
  const tls: BrokerTls = {
    ...pick('ca', 'LT_BROKER_CA', true),
    ...pick('cert', 'LT_BROKER_CERT', true),
    ...pick('key', 'LT_BROKER_KEY', true),
    ...pick('passphrase', 'LT_BROKER_KEY_PASSPHRASE', false),
    ...(given.servername ? { servername: given.servername as string } : {}),
  };
  if (Object.keys(tls).length === 0) return undefined;
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new LtError(
      'CONFIG_INVALID',
      `${file}: a client certificate needs both "brokerTls.cert" and "brokerTls.key" (LT_BROKER_CERT, LT_BROKER_KEY); only the ${tls.cert ? 'certificate' : 'key'} is given`,
      { path: tls.cert ? 'brokerTls.key' : 'brokerTls.cert' },
    );
  }
  return tls;
}

/** "brokerTls" makes sense only with amqps:// URLs: over amqp:// its CA would be silently unused. */
export function assertTlsUrls(tls: BrokerTls | undefined, urls: readonly string[], file: string): void {
  if (!tls) return;
  const plain = urls.find((url) => /^amqp:/i.test(url));
  if (plain === undefined) return;
  throw new LtError(
    'CONFIG_INVALID',
    `${file}: "brokerTls" is set but the AMQP URL (amqpUrl, or AMQP_URL) starts with amqp://, which does not use TLS: write amqps:// and the broker's TLS port (5671 by default)`,
    { path: 'amqpUrl' },
  );
}

function readPem(path: string, what: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new LtError('IO', `cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { path });
  }
  if (!bytes.includes('-----BEGIN ')) throw new LtError('CONFIG_INVALID', `${what} ${path} is not a PEM file (no "-----BEGIN" line)`, { path });
  return bytes;
}

/** Read the files (once, at start-up), failing with the file's name when one is missing or not PEM. */
export function loadBrokerTls(tls: BrokerTls): BrokerTlsMaterial {
  const material: BrokerTlsMaterial = {
    ...(tls.ca ? { ca: readPem(tls.ca, 'the broker CA (brokerTls.ca)') } : {}),
    ...(tls.cert ? { cert: readPem(tls.cert, 'the client certificate (brokerTls.cert)') } : {}),
    ...(tls.key ? { key: readPem(tls.key, 'the client key (brokerTls.key)') } : {}),
    ...(tls.passphrase ? { passphrase: tls.passphrase } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
  if (material.cert) {
    let subject: string;
    try {
      subject = new X509Certificate(material.cert).subject;
    } catch (error) {
      throw new LtError('CONFIG_INVALID', `the client certificate (brokerTls.cert) ${tls.cert} cannot be read as an X.509 certificate: ${(error as Error).message}`, { path: tls.cert });
    }
    const cn = /^CN=(.*)$/m.exec(subject)?.[1];
    if (cn) material.clientName = cn;
    // Here rather than at the first handshake, which would only say "bad decrypt" or fail on the broker's side.
    let key;
    try {
      key = createPrivateKey({ key: material.key as Buffer, ...(material.passphrase ? { passphrase: material.passphrase } : {}) });
    } catch (error) {
      const encrypted = /ENCRYPTED/.test(material.key?.toString('latin1') ?? '') || /passphrase|decrypt/i.test((error as Error).message);
      throw new LtError(
        'CONFIG_INVALID',
        encrypted
          ? `the client key (brokerTls.key) ${tls.key} is encrypted and ${material.passphrase ? 'the passphrase does not open it' : 'no passphrase is given'}: set brokerTls.passphrase (or LT_BROKER_KEY_PASSPHRASE)`
          : `the client key (brokerTls.key) ${tls.key} cannot be read as a private key: ${(error as Error).message}`,
        { path: tls.key },
      );
    }
    if (!new X509Certificate(material.cert).checkPrivateKey(key)) {
      throw new LtError('CONFIG_INVALID', `the client key ${tls.key} does not belong to the client certificate ${tls.cert} (brokerTls.key, brokerTls.cert)`, { path: tls.key });
    }
  }
  return material;
}

/** The options of `tls.connect` (amqplib passes its socket options on to it, node:https too). */
export function tlsSocketOptions(material: BrokerTlsMaterial): ConnectionOptions {
  return {
    ...(material.ca ? { ca: material.ca } : {}),
    ...(material.cert ? { cert: material.cert } : {}),
    ...(material.key ? { key: material.key } : {}),
    ...(material.passphrase ? { passphrase: material.passphrase } : {}),
    ...(material.servername ? { servername: material.servername } : {}),
  };
}
