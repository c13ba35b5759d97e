import t from 'tap';
import { SIGNATURE_ALGORITHMS } from '../../src/crypto/algorithms.js';
import { certificateFromBase64, certificateBase64, verificationKey } from '../../src/crypto/certificates.js';
import { useCryptoEngine } from '../../src/crypto/engine.js';
import { ICT, OFFICE, identityOf } from '../helpers/pki.js';

// The SPKI import is done once per certificate, algorithm and WebCrypto engine, not per packet.
const [rsaSha256, rsaSha384, , ecdsaSha256] = SIGNATURE_ALGORITHMS;

t.test('one import per parsed certificate and algorithm', async (t) => {
  if (!rsaSha256 || !rsaSha384 || !ecdsaSha256) throw new Error('allow-list changed');
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
