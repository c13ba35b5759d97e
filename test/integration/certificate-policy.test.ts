/**
 * Who may sign, what "cannot tell whether it is revoked" means, and which anchors a hub or an
 * edge refuses to trust.
 *
 * - The signer certificate: not a CA, keyUsage for signatures, an extendedKeyUsage (when there
 *   is one) that allows signing documents. Certificates made by the real openssl.
 * - Revocation: under `require` (hubs and edges by default, a verifier given CRLs) a signer
 *   whose status cannot be established is refused; under `best-effort` it is accepted with
 *   revocation "unknown". CRLs made with the issuing CA's real key, or another one.
 * - Development anchors: the certs-dev root (its key is public) is refused at the start of a
 *   hub or an edge unless the configuration says `"dev": true`.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadSigningIdentity, readCertificates } from '../../src/crypto/certificates.js';
import { signPacket } from '../../src/crypto/sign.js';
import {
  createTrustStore,
  isDevelopmentCertificate,
  readNodeTrust,
  signerUsageProblems,
  type RevocationPolicy,
  type TrustMaterial,
} from '../../src/crypto/trust.js';
import * as x509 from '../../src/crypto/x509.js';
import { verifyPacket, type Verification } from '../../src/crypto/verify.js';
import { verifyCommand } from '../../src/cli/commands/verify.js';
import { devPath, devTrust, DEV_HUB } from '../../src/demo/local-exchange.js';
import { edgeConfigFrom, loadEdgeConfig } from '../../src/edge/config.js';
import { Edge } from '../../src/edge/edge.js';
import type { ErrorCode } from '../../src/errors.js';
import { hubConfigFrom, loadHubConfig } from '../../src/hub/config.js';
import { Hub } from '../../src/hub/hub.js';
import { silentLogger } from '../../src/log.js';
import { openExchange } from '../helpers/exchange.js';
import { buildPacket } from '../../src/envelope/index.js';
import { CERTS, OFFICE, REPO, certsFile, documentFrom, identityOf, issueCertificate, makeCa, openssl, organ, unsignedDocument } from '../helpers/pki.js';
import { HUB_LOCK_NAME } from '../../src/hub/data-lock.js';
import { InstanceLock } from '../../src/store/instance-lock.js';

const codes = (v: Verification): ErrorCode[] => v.report.errors.map((e) => e.code);
const CRYPTO = webcrypto as unknown as Crypto;
const RSA_SHA256: RsaHashedImportParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };

// --- the signer certificate ------------------------------------------------------------------

t.test('signer policy: CA:TRUE, serverAuth/clientAuth-only and keyCertSign-only leaves are refused with CERT_USAGE', async (t) => {
  const dir = t.testdir();
  const ca = makeCa(dir);
  const keyPath = join(dir, 'signer.key.pem');
  openssl(dir, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath);
  const keyPem = readFileSync(keyPath, 'utf8');
  // Revocation is not what is tested here: best-effort keeps it out of the findings.
  const store = createTrustStore({ anchors: [readFileSync(ca.caCertPath, 'utf8')], revocation: 'best-effort' });
  // Signed a few seconds after the certificates below are issued (openssl makes them valid from now).
  const unsigned = buildPacket(documentFrom(OFFICE, {}, new Date(Date.now() + 60_000)));

  const cases: Array<{ what: string; extensions: string; refused: RegExp | null }> = [
    { what: 'a well-formed agency certificate', extensions: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n', refused: null },
    { what: 'a leaf with CA:TRUE', extensions: 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,nonRepudiation,keyCertSign\n', refused: /certification authority \(basicConstraints CA:TRUE\)/ },
    { what: 'an EKU for server authentication only', extensions: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n', refused: /issued only for serverAuth \(extendedKeyUsage\)/ },
    { what: 'an EKU for TLS client and server only', extensions: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n', refused: /issued only for serverAuth, clientAuth/ },
    { what: 'an EKU for code signing only', extensions: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n', refused: /issued only for codeSigning/ },
    { what: 'keyUsage keyCertSign only', extensions: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyCertSign\n', refused: /not issued for digital signatures/ },
    { what: 'clientAuth with emailProtection (S/MIME signing)', extensions: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=clientAuth,emailProtection\n', refused: null },
    { what: 'anyExtendedKeyUsage', extensions: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,nonRepudiation\nextendedKeyUsage=anyExtendedKeyUsage\n', refused: null },
    { what: 'the RFC 9336 document-signing EKU', extensions: 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=1.3.6.1.5.5.7.3.36\n', refused: null },
    { what: 'no keyUsage, no extendedKeyUsage, no basicConstraints (unrestricted, RFC 5280)', extensions: 'subjectKeyIdentifier=hash\n', refused: null },
  ];
  for (const [i, c] of cases.entries()) {
    const certPath = issueCertificate(dir, ca, keyPath, OFFICE, 'Van phong UBND tinh', `leaf-${i}`, c.extensions);
    const certPem = readFileSync(certPath, 'utf8');
    const signed = await signPacket(unsigned, await loadSigningIdentity(keyPem, certPem));
    const v = await verifyPacket(signed, store);
    const [cert] = readCertificates(certPem);
    if (c.refused) {
      t.same(codes(v), ['CERT_USAGE'], `${c.what}: refused, CERT_USAGE`);
      t.match(v.report.errors[0]?.message, c.refused, `${c.what}: the message says why`);
      t.equal(v.report.checks.signatureValue, 'ok', `${c.what}: although the signature itself verifies`);
    } else {
      t.same(codes(v), [], `${c.what}: accepted`);
    }
    t.equal(signerUsageProblems(cert as x509.X509Certificate).length > 0, c.refused !== null, `${c.what}: signerUsageProblems agrees`);
  }
});

t.test('every signing certificate of the committed development PKI satisfies the signer policy', async (t) => {
  const manifest = JSON.parse(certsFile('organs.json')) as { hub: { cert: string }; agencies: Array<{ cert: string }>; revoked: { cert: string }; expired: { cert: string } };
  for (const entry of [manifest.hub, ...manifest.agencies, manifest.revoked, manifest.expired]) {
    const [cert] = readCertificates(certsFile(entry.cert));
    t.same(signerUsageProblems(cert as x509.X509Certificate), [], `${entry.cert}`);
  }
  const [root] = readCertificates(certsFile('root-ca.pem'));
  t.ok(signerUsageProblems(root as x509.X509Certificate).some((p) => p.code === 'CERT_USAGE'), 'and the root CA could not sign a document');
});

// --- revocation policy -----------------------------------------------------------------------

async function importKey(pemPath: string): Promise<CryptoKey> {
  const der = createPrivateKey(readFileSync(pemPath, 'utf8')).export({ type: 'pkcs8', format: 'der' });
  return CRYPTO.subtle.importKey('pkcs8', new Uint8Array(der), RSA_SHA256, false, ['sign']);
}

/** A CRL naming the development issuing CA as its issuer, signed by `signingKey`. */
async function issuingCaCrl(signingKey: CryptoKey, options: { nextUpdate?: Date; revoked?: string[] }): Promise<string> {
  const [issuing] = readCertificates(certsFile('issuing-ca.pem'));
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: (issuing as x509.X509Certificate).subjectName,
      signingKey,
      signingAlgorithm: RSA_SHA256,
      thisUpdate: new Date(Date.now() - 3_600_000),
      ...(options.nextUpdate ? { nextUpdate: options.nextUpdate } : {}),
      entries: (options.revoked ?? []).map((serialNumber) => ({ serialNumber, revocationDate: new Date(Date.now() - 3_600_000) })),
    },
    CRYPTO,
  );
  return `${x509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`;
}

function devMaterial(crls: string[], revocation?: RevocationPolicy): TrustMaterial {
  return { anchors: [certsFile('root-ca.pem')], intermediates: [certsFile('issuing-ca.pem')], crls, ...(revocation ? { revocation } : {}) };
}

t.test('revocation: require refuses what cannot be established, best-effort accepts it as unknown', async (t) => {
  const signed = await signPacket(unsignedDocument(OFFICE), await identityOf(OFFICE));
  const rootCrl = certsFile('root-ca.crl.pem');
  const issuingKey = await importKey(join(CERTS, 'issuing-ca.key.pem'));
  const otherKey = (await CRYPTO.subtle.generateKey({ ...RSA_SHA256, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, ['sign', 'verify'])).privateKey;
  const inAYear = new Date(Date.now() + 365 * 86_400_000);

  const good = await verifyPacket(signed, createTrustStore(devMaterial([certsFile('issuing-ca.crl.pem'), rootCrl], 'require')));
  t.same(codes(good), [], 'both CRLs current and authentic: valid under require');
  t.equal(good.report.checks.revocation, 'ok');

  const situations: Array<{ what: string; crls: string[]; code: ErrorCode; message: RegExp; codes?: ErrorCode[] }> = [
    {
      what: 'no CRL at all',
      crls: [],
      code: 'REVOCATION_UNKNOWN',
      codes: ['REVOCATION_UNKNOWN', 'REVOCATION_UNKNOWN'],
      message: /no CRL of ".*CN=lienthong DEV Issuing CA.*" is configured, so whether ".*UID=000\.00\.01\.H12" is revoked cannot be established; add the CA's current CRL/,
    },
    { what: 'no CRL of the issuing CA', crls: [rootCrl], code: 'REVOCATION_UNKNOWN', message: /no CRL of ".*CN=lienthong DEV Issuing CA/ },
    { what: 'a CRL naming the issuing CA, signed by another key', crls: [await issuingCaCrl(otherKey, { nextUpdate: inAYear }), rootCrl], code: 'CRL_INVALID', message: /is not signed by that CA's key/ },
    { what: 'a CRL of the issuing CA without nextUpdate', crls: [await issuingCaCrl(issuingKey, {}), rootCrl], code: 'CRL_INVALID', message: /has no nextUpdate, so it cannot be known to be current/ },
    { what: 'a CRL of the issuing CA past its nextUpdate', crls: [await issuingCaCrl(issuingKey, { nextUpdate: new Date(Date.now() - 60_000) }), rootCrl], code: 'CRL_INVALID', message: /expired on .*install a current CRL/ },
  ];
  for (const s of situations) {
    const required = await verifyPacket(signed, createTrustStore(devMaterial(s.crls, 'require')));
    t.same(codes(required), s.codes ?? [s.code], `${s.what}: refused under require (${s.code})`);
    t.match(required.report.errors[0]?.message, s.message, `${s.what}: the message says what is missing`);
    t.equal(required.report.checks.revocation, 'unknown', `${s.what}: the report says unknown`);

    const lenient = await verifyPacket(signed, createTrustStore(devMaterial(s.crls, 'best-effort')));
    t.same(codes(lenient), [], `${s.what}: accepted under best-effort`);
    t.equal(lenient.report.checks.revocation, 'unknown', `${s.what}: reported as unknown, never ok`);
  }

  // Whoever gives CRLs and chooses no policy asked for revocation to be checked.
  const chosenByCrls = await verifyPacket(signed, createTrustStore(devMaterial([await issuingCaCrl(issuingKey, {}), rootCrl])));
  t.same(codes(chosenByCrls), ['CRL_INVALID'], 'CRLs given, no policy chosen: require');

  const revokedSerial = organ(OFFICE).serialNumber;
  for (const policy of ['require', 'best-effort'] as const) {
    const listed = await verifyPacket(signed, createTrustStore(devMaterial([await issuingCaCrl(issuingKey, { revoked: [revokedSerial] }), rootCrl], policy)));
    t.same(codes(listed), ['CERT_REVOKED'], `${policy}: a listing in an authentic CRL counts even without nextUpdate (revocation is final)`);
    const forged = await verifyPacket(signed, createTrustStore(devMaterial([await issuingCaCrl(otherKey, { nextUpdate: inAYear, revoked: [revokedSerial] }), certsFile('issuing-ca.crl.pem'), rootCrl], policy)));
    t.same(codes(forged), [], `${policy}: a listing in a CRL of another key is ignored; the authentic CRL decides`);
    t.equal(forged.report.checks.revocation, 'ok');
  }
});

t.test('a CRL of thousands of entries (beyond asn1js\'s default node budget) is read, and a listed signer is revoked', async (t) => {
  const dir = t.testdir();
  const office = organ(OFFICE).serialNumber.toUpperCase();
  const serials = [...Array.from({ length: 3000 }, (_, i) => (0x10000000 + i).toString(16).toUpperCase()), office];
  writeFileSync(join(dir, 'index.txt'), serials.map((serial) => `R\t351231000000Z\t250101000000Z,keyCompromise\t${serial}\tunknown\t/CN=revoked`).join('\n') + '\n');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = dev\n[dev]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sha256\n');
  openssl(dir, 'ca', '-config', 'ca.cnf', '-gencrl', '-crldays', '30', '-cert', join(CERTS, 'issuing-ca.pem'), '-keyfile', join(CERTS, 'issuing-ca.key.pem'), '-out', 'big.crl.pem');
  const store = createTrustStore(devMaterial([readFileSync(join(dir, 'big.crl.pem'), 'utf8'), certsFile('root-ca.crl.pem')], 'require'));
  const v = await verifyPacket(await signPacket(unsignedDocument(OFFICE), await identityOf(OFFICE)), store);
  t.same(codes(v), ['CERT_REVOKED'], 'the signer, listed last of 3 001 entries, is revoked');
});

t.test('lienthong verify --revocation: require by default with --crl, best-effort without; either can be chosen', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'signed.xml'), await signPacket(unsignedDocument(OFFICE), await identityOf(OFFICE)));
  const run = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const sink = (append: (s: string) => void) => ({ write: (chunk: string | Uint8Array) => (append(String(chunk)), true) }) as unknown as NodeJS.WritableStream;
    const code = await verifyCommand.run([join(dir, 'signed.xml'), '--trust', join(CERTS, 'root-ca.pem'), '--intermediate', join(CERTS, 'issuing-ca.pem'), ...args], {
      stdout: sink((s) => (stdout += s)),
      stderr: sink((s) => (stderr += s)),
      env: {},
      cwd: dir,
    });
    return { code, stdout, stderr };
  };
  const onlyIssuing = ['--crl', join(CERTS, 'issuing-ca.crl.pem')];

  const both = await run(...onlyIssuing, '--crl', join(CERTS, 'root-ca.crl.pem'));
  t.equal(both.code, 0, 'every CRL of the path: valid');
  const partial = await run(...onlyIssuing);
  t.equal(partial.code, 1, 'the root\'s CRL missing: invalid (require, the default with --crl)');
  t.match(partial.stdout, /REVOCATION_UNKNOWN: no CRL of ".*CN=lienthong DEV Root CA/);
  const lenient = await run(...onlyIssuing, '--revocation', 'best-effort');
  t.equal(lenient.code, 0, 'chosen best-effort: valid');
  t.match(lenient.stdout, /revocation: unknown/, 'and says revocation is unknown');
  const none = await run();
  t.equal(none.code, 0, 'no --crl: best-effort');
  t.match(none.stdout, /revocation: unknown/);
  const required = await run('--revocation', 'require');
  t.equal(required.code, 1, 'no --crl but require chosen: invalid');
  const wrong = await run('--revocation', 'sometimes');
  t.equal(wrong.code, 2, 'an unknown policy is a usage error');
  t.match(wrong.stderr, /--revocation must be "require" or "best-effort"/);
});

// --- development anchors ---------------------------------------------------------------------

t.test('the development PKI is recognised, a CA of one\'s own is not', async (t) => {
  for (const file of ['root-ca.pem', 'issuing-ca.pem', 'hub.pem', 'agencies/000.00.01.H12.pem']) {
    t.ok(isDevelopmentCertificate(readCertificates(certsFile(file))[0] as x509.X509Certificate), `${file} is development`);
  }
  const ca = makeCa(t.testdir(), 'ca', '/C=VN/O=Ban Co yeu Chinh phu/CN=Root CA');
  t.notOk(isDevelopmentCertificate(readCertificates(readFileSync(ca.caCertPath, 'utf8'))[0] as x509.X509Certificate), 'another root is not');

  const dev = { ...devTrust(), dev: false };
  await t.rejects(readNodeTrust(dev, 'hub.json'), { code: 'CONFIG_INVALID', message: /hub\.json: the trust anchor .*root-ca\.pem is the development certificate ".*CN=lienthong DEV Root CA.*private keys are public.*"dev": true/ });
  await t.rejects(readNodeTrust({ anchors: [devPath('hub.pem')] }), { code: 'CONFIG_INVALID' }, 'a development leaf as anchor is refused too');
  t.equal((await readNodeTrust(devTrust())).anchors.length, 1, 'dev: true allows it');
  const own = await readNodeTrust({ anchors: [ca.caCertPath] });
  t.equal(own.revocation, 'require', 'a node\'s revocation policy is require unless chosen');
});

t.test('configuration files: trust.dev and trust.revocation, with defaults that fail closed', async (t) => {
  const dir = t.testdir();
  const base = { anchors: ['root.pem'] };
  const hub = (trust: unknown) => hubConfigFrom({ organId: DEV_HUB.organId, identity: { key: 'k.pem', cert: 'c.pem' }, trust }, dir, 'hub.json', {});
  const edge = (trust: unknown) => edgeConfigFrom({ organId: OFFICE, hubOrganId: DEV_HUB.organId, identity: { key: 'k.pem', cert: 'c.pem' }, trust }, dir, 'edge.json', {});
  for (const [name, load] of [['hub', hub], ['edge', edge]] as const) {
    t.match(load(base).trust, { revocation: 'require', dev: false }, `${name}: require and no development anchors unless chosen`);
    t.match(load({ ...base, revocation: 'best-effort', dev: true }).trust, { revocation: 'best-effort', dev: true }, `${name}: both can be chosen`);
    t.throws(() => load({ ...base, revocation: 'never' }), { code: 'CONFIG_INVALID', message: /"trust\.revocation" must be "require"/ }, `${name}: an unknown policy is refused`);
    t.throws(() => load({ ...base, dev: 'yes' }), { code: 'CONFIG_INVALID', message: /"trust\.dev" must be true or false/ }, `${name}: dev must be a boolean`);
  }
  for (const file of ['hub.json', 'edge-a.json', 'edge-b.json']) {
    const path = join(REPO, 'deploy', file);
    const config = file === 'hub.json' ? await loadHubConfig(path, {}) : await loadEdgeConfig(path, {});
    t.equal(config.trust.dev, true, `deploy/${file} says dev: true explicitly`);
    t.equal(config.trust.revocation, 'require', `deploy/${file} requires revocation`);
    await t.rejects(readNodeTrust({ ...config.trust, dev: false }), { code: 'CONFIG_INVALID' }, `deploy/${file} without dev: true would not start`);
  }
});

t.test('a hub and an edge refuse to start on the development root without dev: true', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'hub'));
  const raw = JSON.parse(readFileSync(join(REPO, 'deploy', 'hub.json'), 'utf8')) as Record<string, unknown>;
  const trust = { ...(raw.trust as Record<string, unknown>) };
  delete trust.dev;
  const hubConfig = hubConfigFrom({ ...raw, trust, dataDir: join(dir, 'hub') }, join(REPO, 'deploy'), 'hub.json', {});
  const hub = new Hub(hubConfig, { log: silentLogger() });
  await t.rejects(hub.start(), { code: 'CONFIG_INVALID', message: /development certificate .*"dev": true/ }, 'the hub does not start');
  // ...and holds nothing: a restore may take its data directory at once.
  const exclusive = InstanceLock.acquire({ dir: join(dir, 'hub'), name: HUB_LOCK_NAME, code: 'NODE_RUNNING', field: 'dataDir', refusal: () => 'the failed hub still holds its data directory' });
  exclusive.release();
  t.pass('a hub that did not start leaves its data directory to a restore');
  await hub.stop();

  const edgeRaw = JSON.parse(readFileSync(join(REPO, 'deploy', 'edge-a.json'), 'utf8')) as Record<string, unknown>;
  const edgeConfig = edgeConfigFrom({ ...edgeRaw, trust: { ...(edgeRaw.trust as object), dev: false }, dataDir: join(dir, 'edge') }, join(REPO, 'deploy'), 'edge-a.json', {});
  const edge = new Edge(edgeConfig, { log: silentLogger() });
  await t.rejects(edge.open(), { code: 'CONFIG_INVALID', message: /development certificate/ }, 'the edge does not open (nor start)');
  await edge.stop();

  const allowed = new Edge({ ...edgeConfig, trust: { ...edgeConfig.trust, dev: true }, dataDir: join(dir, 'edge-dev') }, { log: silentLogger() });
  await allowed.open();
  t.pass('with dev: true the edge opens');
  await allowed.stop();
});

t.test('with dev: true (the demo\'s and the tests\' configuration) a hub and an edge start on the real broker and exchange', async (t) => {
  const { exchange } = await openExchange(t, [{ organId: OFFICE, organName: 'Văn phòng UBND tỉnh Cà Mau' }]);
  t.equal(exchange.hubConfig.trust.dev, true);
  t.equal(exchange.hubConfig.trust.revocation, 'require');
  t.ok(exchange.edge(OFFICE), 'hub and edge started');
});

t.test('openssl agrees: the committed CRLs carry nextUpdate', async (t) => {
  for (const file of ['issuing-ca.crl.pem', 'root-ca.crl.pem']) {
    const text = execFileSync('openssl', ['crl', '-in', join(CERTS, file), '-noout', '-nextupdate'], { encoding: 'utf8' });
    t.match(text, /^nextUpdate=/, file);
  }
});
