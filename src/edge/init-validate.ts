/**
 * What `lienthong edge init` checks before it writes anything, offline: the AMQP URL is this
 * agency's (its broker user, a queue token of the right form), the key belongs to the
 * certificate, the certificate is the organ id's, valid now, and chains to a given anchor.
 * Each refusal says which answer to change.
 */
import { resourceNames, QUEUE_TOKEN_PARAMETER, QUEUE_TOKEN_PATTERN } from '../broker/names.js';
import { loadIdentityMaterial } from '../config.js';
import { describeName, loadSigningIdentity, organIdOf } from '../crypto/certificates.js';
import { createTrustStore, readNodeTrust, validateChain } from '../crypto/trust.js';
import { LtError } from '../errors.js';
import { assertAgencyBrokerUser } from './broker-identity.js';

export interface InitFiles {
  organId: string;
  amqpUrl: string;
  prefix: string;
  key: string;
  cert: string;
  chain?: string;
  anchors: string[];
  crls: string[];
  dev: boolean;
}

export async function validateInitAnswers(a: InitFiles, now = new Date()): Promise<{ organName?: string; certificate: string; notAfter: string }> {
  let url: URL;
  try {
    url = new URL(a.amqpUrl);
  } catch {
    throw new LtError('USAGE', '--amqp-url is not a URL: paste the AMQP URL "lienthong agency add" printed, amqp(s)://user:password@host:port?queueToken=...; nothing written');
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') throw new LtError('USAGE', `--amqp-url must start with amqps:// (or amqp://), not ${url.protocol}//; nothing written`);
  assertAgencyBrokerUser({ organId: a.organId, amqpUrl: a.amqpUrl, brokerUser: decodeURIComponent(url.username) }, resourceNames(a.prefix));
  if (!url.password) throw new LtError('USAGE', '--amqp-url has no password: paste the whole URL "lienthong agency add" printed; nothing written');
  const token = url.searchParams.get(QUEUE_TOKEN_PARAMETER) ?? '';
  if (!QUEUE_TOKEN_PATTERN.test(token)) throw new LtError('USAGE', `the ${QUEUE_TOKEN_PARAMETER} of --amqp-url is not one "agency add" writes: copy the URL again; nothing written`);

  const material = await loadIdentityMaterial({ key: a.key, cert: a.cert, ...(a.chain ? { chain: a.chain } : {}) });
  const identity = await loadSigningIdentity(material.keyPem, material.certPem, material.chainPem);
  const cert = identity.certificate;
  const uid = organIdOf(cert);
  if (uid !== a.organId) {
    throw new LtError('CERT_ORGAN_MISMATCH', `the certificate ${a.cert} ("${describeName(cert.subjectName)}") is issued to ${uid ?? '(no UID)'}, not to ${a.organId}: give this agency's certificate (--cert, --key) or its organ id; nothing written`);
  }
  const trust = await readNodeTrust({ anchors: a.anchors, crls: a.crls, revocation: 'best-effort', dev: a.dev }, 'the trust anchors (--anchor)').catch((error: unknown) => {
    // The configuration's words name its setting; here the answer is a flag.
    if (error instanceof LtError) throw new LtError(error.code, `${error.message.replace('set "trust": {"dev": true}', 'give --dev')}; nothing written`, error.context);
    throw error;
  });
  const result = await validateChain(cert, identity.chain, createTrustStore(trust), now, now);
  if (result.problems.length > 0) {
    throw new LtError(result.problems[0]?.code ?? 'CERT_UNTRUSTED', `the certificate ${a.cert} cannot be used: ${result.problems.map((p) => p.message).join('; ')}; nothing written`);
  }
  const organName = cert.subjectName.getField('2.5.4.3')[0];
  return { ...(organName ? { organName } : {}), certificate: describeName(cert.subjectName), notAfter: cert.notAfter.toISOString().slice(0, 10) };
}
