/**
 * The development PKI is checked with the real openssl binary, not with the library that made it:
 * a bug in @peculiar/x509 (or in how we call it) would otherwise check itself.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { DEFAULT_DEV_ORGANS, OID_UID, createDevPki, devOrgans, findDevOrgan, planDevOrgans, readDevPkiManifest, type DevOrganEntry, type DevPkiManifest } from '../../src/crypto/dev-pki.js';
import { LtError } from '../../src/errors.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../../..');

function openssl(...args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function verify(m: DevPkiManifest, cert: string, ...flags: string[]) {
  return openssl('verify', ...flags, '-CAfile', m.root.cert, '-untrusted', m.issuing.cert, cert);
}

function withCrl(m: DevPkiManifest): string[] {
  return ['-crl_check', '-CRLfile', m.issuing.crl];
}

/** Everything a verifier of the set relies on, so it runs both on a fresh set and on the committed one. */
async function checkSet(t: Test, m: DevPkiManifest): Promise<void> {
  const good = [m.hub, ...m.agencies];

  t.test('hub and agency certificates chain to the root, also with CRL checks', async (t) => {
    for (const o of good) {
      t.ok(verify(m, o.cert).ok, `${o.organId} verifies`);
      t.ok(verify(m, o.cert, ...withCrl(m)).ok, `${o.organId} verifies with -crl_check`);
      t.ok(verify(m, o.cert, '-crl_check_all', '-CRLfile', m.issuing.crl, '-CRLfile', m.root.crl).ok, `${o.organId} verifies with -crl_check_all`);
    }
  });

  t.test('the revoked certificate chains but fails the CRL check', async (t) => {
    t.ok(verify(m, m.revoked.cert).ok, 'valid without revocation checking');
    const result = verify(m, m.revoked.cert, ...withCrl(m));
    t.notOk(result.ok);
    t.match(result.out, /certificate revoked/);
  });

  t.test('the expired certificate fails as expired', async (t) => {
    const result = verify(m, m.expired.cert);
    t.notOk(result.ok);
    t.match(result.out, /certificate has expired/);
    t.ok(new Date(m.expired.notAfter) < new Date(), 'its notAfter is in the past');
  });

  t.test('subjects carry UID=<organ id> under the userId OID', async (t) => {
    for (const o of devOrgans(m)) {
      const named = openssl('x509', '-in', o.cert, '-noout', '-subject', '-nameopt', 'RFC2253').out;
      t.ok(named.startsWith(`subject=UID=${o.organId},`), `${o.organId}: ${named.trim()}`);
      const numeric = openssl('x509', '-in', o.cert, '-noout', '-subject', '-nameopt', 'RFC2253,oid').out;
      t.match(numeric, `${OID_UID}=${o.organId},`);
      t.match(numeric, /,2\.5\.4\.6=VN$/m, 'C=VN');
    }
  });

  t.test('key types, sizes and key/certificate pairs', async (t) => {
    for (const o of devOrgans(m)) {
      const text = openssl('pkey', '-in', o.key, '-noout', '-text').out;
      if (o.keyType === 'ec') {
        t.match(text, /NIST CURVE: P-256/, `${o.organId} is P-256`);
      } else {
        t.match(text, /^Private-Key: \(2048 bit/, `${o.organId} is RSA 2048`);
      }
      t.match(readFileSync(o.key, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/, 'unencrypted PKCS#8');
      const fromKey = openssl('pkey', '-in', o.key, '-pubout').out;
      const fromCert = openssl('x509', '-in', o.cert, '-noout', '-pubkey').out;
      t.equal(fromKey, fromCert, `${o.organId}: key matches certificate`);
    }
  });

  t.test('extensions and serials', async (t) => {
    t.match(openssl('x509', '-in', m.root.cert, '-noout', '-ext', 'basicConstraints,keyUsage').out, /critical\n\s+CA:TRUE\n[\s\S]*Certificate Sign, CRL Sign/);
    t.match(openssl('x509', '-in', m.issuing.cert, '-noout', '-ext', 'basicConstraints').out, /CA:TRUE, pathlen:0/);
    for (const o of devOrgans(m)) {
      const ext = openssl('x509', '-in', o.cert, '-noout', '-ext', 'basicConstraints,keyUsage,subjectKeyIdentifier,authorityKeyIdentifier').out;
      t.match(ext, /CA:FALSE/);
      t.match(ext, /Digital Signature, Non Repudiation/);
      t.match(ext, /Subject Key Identifier/);
      t.match(ext, /Authority Key Identifier/);
      const serial = openssl('x509', '-in', o.cert, '-noout', '-serial').out.trim();
      t.match(serial, /^serial=[0-7][0-9A-F]{31}$/, `${o.organId}: 16-byte positive serial`);
    }
  });

  t.test('CRLs and chain', async (t) => {
    t.match(openssl('crl', '-in', m.root.crl, '-CAfile', m.root.cert, '-noout').out + openssl('crl', '-in', m.root.crl, '-CAfile', m.root.cert, '-noout', '-text').out, /No Revoked Certificates/);
    t.ok(openssl('crl', '-in', m.issuing.crl, '-CAfile', m.chain, '-noout').ok, 'issuing CRL signature verifies');
    const listed = openssl('crl', '-in', m.issuing.crl, '-noout', '-text').out;
    t.match(listed, `Serial Number: ${m.revoked.serialNumber.toUpperCase()}`);
    t.equal(readFileSync(m.chain, 'utf8'), readFileSync(m.issuing.cert, 'utf8') + readFileSync(m.root.cert, 'utf8'), 'chain = issuing + root');
  });
}

const base = t.testdir();
const fresh = await createDevPki({ out: join(base, 'pki') });

t.test('a fresh default set', async (t) => {
  t.equal(fresh.agencies.length, DEFAULT_DEV_ORGANS.agencies.length);
  t.equal(fresh.hub.organId, '000.00.90.H12');
  t.equal(findDevOrgan(fresh, '000.00.14.H12')?.keyType, 'ec');
  t.equal(fresh.revoked.organId, '000.00.98.H12');
  t.equal(fresh.expired.organId, '000.00.97.H12');
  const files = readdirSync(join(base, 'pki')).sort();
  t.same(files, ['README.md', 'agencies', 'chain.pem', 'expired', 'hub.key.pem', 'hub.pem', 'issuing-ca.crl.pem', 'issuing-ca.key.pem', 'issuing-ca.pem', 'organs.json', 'revoked', 'root-ca.crl.pem', 'root-ca.key.pem', 'root-ca.pem']);
  t.match(readFileSync(join(base, 'pki', 'README.md'), 'utf8'), /NOT FOR PRODUCTION[\s\S]*lienthong certs init/);
  t.same(await readDevPkiManifest(join(base, 'pki')), fresh, 'organs.json reads back as what was returned');
  await checkSet(t, fresh);
});

t.test('the committed certs-dev/ set (read-only)', async (t) => {
  const committed = await readDevPkiManifest(join(REPO, 'certs-dev'));
  t.equal(committed.agencies.length, DEFAULT_DEV_ORGANS.agencies.length);
  t.match(readFileSync(join(REPO, 'certs-dev', 'README.md'), 'utf8'), /NOT FOR PRODUCTION/);
  await checkSet(t, committed);
});

t.test('a custom organs file, re-read from organs.json', async (t) => {
  const dir = t.testdir();
  const organsFile = join(dir, 'organs.in.json');
  writeFileSync(organsFile, JSON.stringify({ hub: { organId: '000.00.90.G22', name: 'Hub, Thừa Thiên Huế', keyType: 'ec' }, agencies: [{ organId: '000.00.00.G22', name: 'Một cơ quan' }] }));
  const m = await createDevPki({ out: join(dir, 'set'), organsFile });
  t.equal(m.hub.keyType, 'ec');
  t.match(openssl('pkey', '-in', m.hub.key, '-noout', '-text').out, /NIST CURVE: P-256/);
  t.same(m.agencies.map((a: DevOrganEntry) => [a.organId, a.keyType]), [['000.00.00.G22', 'rsa']]);
  t.equal(m.revoked.organId, DEFAULT_DEV_ORGANS.revoked?.organId, 'missing keys take the defaults');
  t.ok(openssl('x509', '-in', m.hub.cert, '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb,utf8').out.includes('CN=Hub\\, Thừa Thiên Huế'), 'commas in names are escaped, not split');
  const again = await createDevPki({ out: join(dir, 'set2'), organsFile: join(dir, 'set', 'organs.json') });
  t.same(devOrgans(again).map((o) => [o.role, o.organId, o.name, o.keyType]), devOrgans(m).map((o) => [o.role, o.organId, o.name, o.keyType]));
});

t.test('bad organs input is a USAGE error', async (t) => {
  const dir = t.testdir({ 'broken.json': '{"hub": ', 'list.json': '[]' });
  const bad: [string, unknown][] = [
    ['bad organ id', { agencies: [{ organId: '12345', name: 'x' }] }],
    ['missing name', { hub: { organId: '000.00.90.H12' } }],
    ['unknown key type', { agencies: [{ organId: '000.00.01.H12', name: 'x', keyType: 'dsa' }] }],
    ['unknown top-level key', { agency: [] }],
    ['unknown organ field', { hub: { organId: '000.00.90.H12', name: 'x', organ: 'y' } }],
    ['empty agencies', { agencies: [] }],
    ['duplicate organ id', { revoked: { organId: '000.00.01.H12', name: 'x' } }],
    ['name too long for X.509', { hub: { organId: '000.00.90.H12', name: 'x'.repeat(65) } }],
  ];
  for (const [what, organs] of bad) {
    t.throws(() => planDevOrgans(organs), { code: 'USAGE' }, what);
  }
  const error: unknown = await createDevPki({ out: join(dir, 'a'), organs: bad[0]?.[1] }).catch((e: unknown) => e);
  t.ok(error instanceof LtError && error.code === 'USAGE', 'createDevPki refuses it with an LtError USAGE');
  await t.rejects(createDevPki({ out: join(dir, 'b'), organsFile: join(dir, 'broken.json') }), { code: 'USAGE' }, 'not JSON');
  await t.rejects(createDevPki({ out: join(dir, 'c'), organsFile: join(dir, 'list.json') }), { code: 'USAGE' }, 'not an object');
  await t.rejects(createDevPki({ out: join(dir, 'd'), organsFile: join(dir, 'missing.json') }), { code: 'IO' }, 'missing file');
  t.same(readdirSync(dir).sort(), ['broken.json', 'list.json'], 'nothing was written');
});

t.test('an existing non-empty directory needs force', async (t) => {
  const dir = t.testdir({ out: { 'notes.txt': 'keep me', agencies: { '999.99.99.H12.pem': 'stale' } }, empty: {} });
  const out = join(dir, 'out');
  await t.rejects(createDevPki({ out }), { code: 'USAGE', message: /--force/ });
  t.same(readdirSync(out).sort(), ['agencies', 'notes.txt'], 'untouched when refused');
  const m = await createDevPki({ out, force: true, organs: { agencies: [{ organId: '000.00.01.H12', name: 'x' }] } });
  t.ok(verify(m, m.agencies[0]?.cert as string).ok);
  t.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'keep me', 'unrelated files are left alone');
  t.same(readdirSync(join(out, 'agencies')).sort(), ['000.00.01.H12.key.pem', '000.00.01.H12.pem'], 'stale certificates of a previous set are removed');
  await t.resolves(createDevPki({ out: join(dir, 'empty'), organs: { agencies: [{ organId: '000.00.01.H12', name: 'x' }] } }), 'an existing empty directory is fine');
});
