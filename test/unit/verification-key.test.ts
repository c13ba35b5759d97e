import type * as nodeCrypto from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import t from 'tap';
import { SIGNATURE_ALGORITHMS } from '../../src/crypto/algorithms.js';
import { certificateFromBase64, certificateBase64, loadSigningIdentity, privateKeyOf, publicKeyOf, verificationKey } from '../../src/crypto/certificates.js';
import { useCryptoEngine } from '../../src/crypto/engine.js';
import { signPacket } from '../../src/crypto/sign.js';
import { verifyPacket } from '../../src/crypto/verify.js';
import { CITY, FINANCE, ICT, OFFICE, identityMaterial, identityOf, trustStore, unsignedDocument } from '../helpers/pki.js';

// Keys are made once per certificate or identity, not per packet: with Node's engine as
// KeyObjects, with another WebCrypto engine as that engine's import per algorithm.
const [rsaSha256, rsaSha384, , ecdsaSha256] = SIGNATURE_ALGORITHMS;

t.test('one KeyObject per parsed certificate', async (t) => {
  const cert = certificateFromBase64(certificateBase64((await identityOf(OFFICE)).certificate));
  const key = publicKeyOf(cert);
  t.equal(key?.type, 'public');
  t.equal(key?.asymmetricKeyType, 'rsa');
  t.equal(publicKeyOf(cert), key, 'the same KeyObject for the same certificate');
  const ec = certificateFromBase64(certificateBase64((await identityOf(ICT)).certificate));
  t.equal(publicKeyOf(ec)?.asymmetricKeyType, 'ec');
  t.not(publicKeyOf(ec), key, 'another for another certificate');
});

t.test('verifying packets of one signer reads its public key once', async (t) => {
  const trust = trustStore();
  const packets = [];
  for (let i = 0; i < 3; i++) packets.push(await signPacket(unsignedDocument(CITY), await identityOf(CITY)));
  const otherPacket = await signPacket(unsignedDocument(FINANCE), await identityOf(FINANCE));
  // Counted through the builtin module itself: syncBuiltinESMExports() makes the ES module
  // imports of node:crypto see the counting function too.
  const builtin = createRequire(import.meta.url)('node:crypto') as typeof nodeCrypto;
  const original = builtin.createPublicKey;
  let made = 0;
  builtin.createPublicKey = (...args: Parameters<typeof nodeCrypto.createPublicKey>): nodeCrypto.KeyObject => {
    made += 1;
    return original(...args);
  };
  syncBuiltinESMExports();
  t.teardown(() => {
    builtin.createPublicKey = original;
    syncBuiltinESMExports();
  });
  for (const packet of packets) t.equal((await verifyPacket(packet, trust)).report.valid, true);
  t.equal(made, 1, 'three packets, one KeyObject');
  t.equal((await verifyPacket(otherPacket, trust)).report.valid, true);
  t.equal(made, 2, 'another signer, one more');
});

t.test('one KeyObject per identity key, only from a key of Node\'s engine', async (t) => {
  const identity = await identityOf(OFFICE);
  const key = privateKeyOf(identity);
  t.equal(key.type, 'private');
  t.equal(privateKeyOf(identity), key, 'the same KeyObject for the same identity');
  useCryptoEngine('peculiar');
  t.teardown(() => void useCryptoEngine('node'));
  const m = identityMaterial(OFFICE);
  const peculiar = await loadSigningIdentity(m.keyPem, m.certPem);
  t.throws(() => privateKeyOf(peculiar), { code: 'KEY_INVALID' }, 'a key of @peculiar/webcrypto has none: a clear error');
});

t.test('another engine: one import per parsed certificate and algorithm', async (t) => {
  if (!rsaSha256 || !rsaSha384 || !ecdsaSha256) throw new Error('allow-list changed');
  useCryptoEngine('peculiar');
  t.teardown(() => void useCryptoEngine('node'));
  const cert = certificateFromBase64(certificateBase64((await identityOf(OFFICE)).certificate));
  const first = verificationKey(cert, rsaSha256);
  t.equal(verificationKey(cert, rsaSha256), first, 'the same key for the same certificate and algorithm');
  t.not(verificationKey(cert, rsaSha384), first, 'another for another hash');
  t.equal((await first).algorithm.name, 'RSASSA-PKCS1-v1_5');
  t.equal((await first).extractable, false);

  const ec = certificateFromBase64(certificateBase64((await identityOf(ICT)).certificate));
  t.equal((await verificationKey(ec, ecdsaSha256)).algorithm.name, 'ECDSA');
  const wrong = verificationKey(ec, rsaSha256);
  await t.rejects(wrong, 'an EC key under an RSA algorithm is refused');
  t.equal(verificationKey(ec, rsaSha256), wrong, 'and stays refused without another import');
});

t.test('a key belongs to the engine that imported it', async (t) => {
  if (!rsaSha256) throw new Error('allow-list changed');
  const cert = certificateFromBase64(certificateBase64((await identityOf(OFFICE)).certificate));
  useCryptoEngine('node');
  const node = verificationKey(cert, rsaSha256);
  useCryptoEngine('peculiar');
  t.teardown(() => void useCryptoEngine('node'));
  const peculiar = verificationKey(cert, rsaSha256);
  t.not(peculiar, node);
  t.equal(verificationKey(cert, rsaSha256), peculiar);
  await peculiar;
});
