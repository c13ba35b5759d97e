/**
 * Packets the hub must not accept, each answered with a bounce signed by the hub to the real
 * sender — the agency whose broker user published it, which RabbitMQ vouches for — and
 * delivered to no one:
 *
 * - a packet claiming to come from another agency than the one that published it (SENDER_MISMATCH);
 * - a packet changed after it was signed (SIG_DIGEST_MISMATCH);
 * - a packet signed with a certificate naming the agency but not issued by the CA (CERT_UNTRUSTED);
 * - a packet signed with a revoked certificate (CERT_REVOKED);
 * - a validly signed packet carrying a TraceHeader added after signing: a forged hop (TRACE_FORGED).
 *
 * Real RabbitMQ and hub, each test under its own broker prefix, everything deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parsePacket, type DocumentPacket, type StatusPacket } from '../../src/envelope/index.js';
import { HUB, REVOKED, issueCertificate, makeCa, openssl, organ, type SelfMadeCa } from '../helpers/pki.js';
import {
  A,
  B,
  C,
  agency,
  devPath,
  documentPacket,
  headersOf,
  hubDeliveries,
  hubOutboundTargets,
  hubPacket,
  identityFromFiles,
  inboxOf,
  letter,
  openExchange,
  publishAs,
  signAs,
  stageAt,
  takeFromQueue,
  verifyDev,
  waitFor,
} from '../helpers/exchange.js';

/** A key and a certificate for `organId` from a CA of one's own (openssl), not the government's. */
function rogueCertificate(t: Test, organId: string): { keyPath: string; certPath: string; ca: SelfMadeCa } {
  const dir = mkdtempSync(join(tmpdir(), 'lt-it-pki-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = makeCa(dir);
  const keyPath = join(dir, 'rogue.key.pem');
  openssl(dir, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath);
  return { keyPath, certPath: issueCertificate(dir, ca, keyPath, organId, organ(organId).name, 'rogue'), ca };
}

t.test('refused packets are answered with a signed bounce to the real sender and reach no one', async (t) => {
  // A's edge is not running: the test is A's misbehaving client, publishing with A's own
  // credentials, and reads the answers from A's queue itself.
  const { exchange } = await openExchange(t, [agency(A, { start: false }), agency(B), agency(C, { start: false })]);
  const b = exchange.edge(B);

  const cases: Array<{ name: string; code: string; packet: DocumentPacket; content: string }> = [];

  // From ≠ the agency of the validated user-id: C's genuine, C-signed packet, published by A.
  const spoofed = documentPacket(C, [B], 1) as DocumentPacket;
  cases.push({ name: 'a packet claiming to be from another agency', code: 'SENDER_MISMATCH', packet: spoofed, content: await signAs(spoofed, C) });

  // Changed after signing: the subject's bytes differ from what was signed.
  const tampered = documentPacket(A, [B], 2) as DocumentPacket;
  const signed = await signAs(tampered, A);
  const altered = signed.replace(tampered.subject, tampered.subject.replace('triển khai', 'huỷ bỏ'));
  t.not(altered, signed, 'the subject was changed');
  cases.push({ name: 'a packet changed after signing', code: 'SIG_DIGEST_MISMATCH', packet: tampered, content: altered });

  // A certificate naming A (UID) but issued by a CA of one's own, not the government's.
  const rogue = rogueCertificate(t, A);
  const untrusted = documentPacket(A, [B], 3) as DocumentPacket;
  cases.push({ name: 'a packet signed with a certificate from an untrusted CA', code: 'CERT_UNTRUSTED', packet: untrusted, content: await signAs(untrusted, await identityFromFiles(rogue.keyPath, rogue.certPath)) });

  // Validly signed, then given a TraceHeader after the sender's own: the signature still holds
  // (hops are outside what the hub ever writes), but an edge never relays, so the hop is forged.
  const hopped = documentPacket(A, [B], 4) as DocumentPacket;
  const hoppedSigned = await signAs(hopped, A);
  const hop = `<edXML:TraceHeader><edXML:OrganId>${HUB}</edXML:OrganId><edXML:Timestamp>2026/11/25 23:59:00</edXML:Timestamp></edXML:TraceHeader>`;
  const withHop = hoppedSigned.replace(/(<edXML:TraceHeader>[\s\S]*?<\/edXML:TraceHeader>)/, `$1${hop}`);
  t.not(withHop, hoppedSigned, 'a hop was appended');
  t.equal((await verifyDev(withHop)).report.unsignedTraceHeaders, 1, 'the verifier itself accepts it as a relayed packet');
  cases.push({ name: 'a packet with a TraceHeader added after signing', code: 'TRACE_FORGED', packet: hopped, content: withHop });

  const packetIds = cases.map(() => randomUUID());
  for (const [i, c] of cases.entries()) {
    await publishAs(t, exchange, A, c.content, { packetId: packetIds[i] as string, type: 'edoc', from: c.packet.from.organId, to: [B], priority: '0', documentId: c.packet.documentId });
  }

  const bounces = await takeFromQueue(t, exchange, A, 'normal', cases.length);
  for (const [i, c] of cases.entries()) {
    await t.test(c.name, async (t) => {
      const packetId = packetIds[i] as string;
      const row = await waitFor('the hub to record it', () => hubPacket(exchange, packetId));
      t.equal(row.verdict, 'refused');
      t.equal(row.error_code, c.code);
      t.equal(row.sender, A, 'the hub names the real sender (the broker-validated user)');
      t.equal(row.claimed_from, c.packet.from.organId);
      t.same(hubDeliveries(exchange, c.packet.documentId), [], 'delivered to no one');
      t.same(hubOutboundTargets(exchange, packetId), [A], 'the only message it caused is the bounce to A');

      const bounce = bounces.find((m) => headersOf(m)['x-lt-cause'] === packetId);
      if (!bounce) return t.fail(`no bounce for ${packetId} in A's queue`);
      const headers = headersOf(bounce);
      t.equal(headers['x-lt-error-code'], c.code);
      t.equal(headers['x-lt-bounce'], A, 'about the sender itself: the whole packet is refused');
      t.equal(bounce.properties.type, 'status');
      const verified = await verifyDev(bounce.content);
      t.same(verified.report.errors, [], 'the bounce is validly signed');
      t.equal(verified.report.signer?.organId, HUB, '... by the hub');
      const status = parsePacket(bounce.content) as StatusPacket;
      t.equal(status.kind, 'status');
      t.equal(status.statusCode, '02');
      t.equal(status.from.organId, HUB);
      t.equal(status.responseFor.organId, c.packet.from.organId, 'ResponseFor names the document by its issuer, as peers expect');
      t.equal(status.responseFor.documentId, c.packet.documentId);
      t.match(status.description, new RegExp(`từ chối gói tin của ${A.replace(/\./g, '\\.')}: \\[${c.code}\\] `), 'the description names the refused sender and the reason');
      t.ok(status.staffInfo?.department, 'the bounce carries StaffInfo');
    });
  }
  t.equal(inboxOf(b).total, 0, "B's inbox stays empty");
  t.same(exchange.hub.db.prepare("SELECT COUNT(*) AS n FROM outbound WHERE target = ?").get(B), { n: 0 }, 'the hub published nothing to B');
});

t.test('a packet signed with a revoked certificate is refused with a bounce to its publisher', async (t) => {
  // The revoked agency is provisioned, but its edge would refuse to start (see below): its
  // packet is signed and published by hand, as a misbehaving client with its credentials would.
  const revokedIdentity = { key: devPath('revoked', `${REVOKED}.key.pem`), cert: devPath('revoked', `${REVOKED}.pem`), chain: devPath('issuing-ca.pem') };
  const { exchange } = await openExchange(t, [agency(REVOKED, { start: false, identity: revokedIdentity }), agency(B)]);
  const b = exchange.edge(B);
  const packet = documentPacket(REVOKED, [B], 9) as DocumentPacket;
  const content = await signAs(packet, await identityFromFiles(revokedIdentity.key, revokedIdentity.cert, revokedIdentity.chain));
  const packetId = randomUUID();
  await publishAs(t, exchange, REVOKED, content, { packetId, type: 'edoc', from: REVOKED, to: [B], priority: '0', documentId: packet.documentId });
  const [bounce] = await takeFromQueue(t, exchange, REVOKED, 'normal', 1);
  const row = await waitFor('the hub to record it', () => hubPacket(exchange, packetId));
  t.equal(row.verdict, 'refused');
  t.equal(row.error_code, 'CERT_REVOKED');
  t.same(hubDeliveries(exchange, packet.documentId), [], 'delivered to no one');
  t.equal(bounce ? headersOf(bounce)['x-lt-error-code'] : undefined, 'CERT_REVOKED', 'the bounce names the reason');
  t.equal(inboxOf(b).total, 0, "B's inbox stays empty");
});

t.test('an edge refuses to start with a certificate every recipient would refuse', async (t) => {
  const rogue = rogueCertificate(t, A);
  for (const [organId, identity, reason] of [
    [REVOKED, { key: devPath('revoked', `${REVOKED}.key.pem`), cert: devPath('revoked', `${REVOKED}.pem`), chain: devPath('issuing-ca.pem') }, /revoked/],
    [A, { key: rogue.keyPath, cert: rogue.certPath }, /no trusted issuer|does not chain/],
  ] as const) {
    const started = openExchange(t, [agency(organId, { identity })]);
    await t.rejects(started, { code: 'CONFIG_INVALID', message: reason }, `${organId}: CONFIG_INVALID, naming why`);
  }
});
