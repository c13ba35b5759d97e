/**
 * What an agency's IT sees from the command line, with a hub and two edges running as real
 * processes (test/helpers/processes.ts): `send --wait` reports each recipient's answer, a bounce
 * with its reason; `inbox` at the recipient lists the document (the DocumentId `status` needs,
 * without an API key or a config change); `outbox` and `show` at the sender tell where it stands,
 * the timeline with the bounce's reason, every packet and the hub's hop. The three read the
 * edge's database read-only while the edge runs. The CLI is `node bin/lienthong.js` (the
 * compiled dist/: `npx tsc -p .` first).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEV_HUB } from '../../src/demo/local-exchange.js';
import { lienthong } from '../helpers/cli.js';
import { AGENCY_A, AGENCY_B, startCluster } from '../helpers/processes.js';

const CITY = '000.00.31.H12'; // has a certificate, but is not registered at this hub


const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date()).replaceAll('-', '/');

function letter(codeNumber: string, to: string[]): Record<string, unknown> {
  return { to: to.map((organId) => ({ organId })), code: { codeNumber, codeNotation: 'UBND-VP' }, subject: `V/v thử nghiệm số ${codeNumber}` };
}

t.test('send --wait, inbox, outbox and show tell what happened, while the edges run', async (t) => {
  const cluster = await startCluster(t, { prefixBase: 'lt-cli-show' });
  await cluster.hub.start();
  await cluster.edge(AGENCY_A.organId).start();
  await cluster.edge(AGENCY_B.organId).start();
  const configA = cluster.edgeConfigPath(AGENCY_A.organId);
  const configB = cluster.edgeConfigPath(AGENCY_B.organId);
  const delivered = `${AGENCY_A.organId},${today},41/UBND-VP`;
  const halfBounced = `${AGENCY_A.organId},${today},42/UBND-VP`;
  writeFileSync(join(cluster.dir, 'to-b.json'), JSON.stringify(letter('41', [AGENCY_B.organId])));
  writeFileSync(join(cluster.dir, 'to-b-and-city.json'), JSON.stringify(letter('42', [AGENCY_B.organId, CITY])));

  const sent = await lienthong('send', '--config', configA, join(cluster.dir, 'to-b.json'), '--wait', '--json');
  t.equal(sent.code, 0, 'send --wait: 0 once the recipient answered', { stderr: sent.stderr });
  const answer = JSON.parse(sent.stdout) as { documentId: string; answers: Array<{ recipient: string; stage: string; reason: string | null }> };
  t.equal(answer.documentId, delivered);
  t.match(answer.answers, [{ recipient: AGENCY_B.organId, stage: '01', reason: null }], 'B answered 01');

  const bounced = await lienthong('send', '--config', configA, join(cluster.dir, 'to-b-and-city.json'), '--wait');
  t.equal(bounced.code, 1, 'send --wait: 1 when a recipient did not get it');
  t.match(bounced.stdout, `queued ${halfBounced} as packet `);
  t.match(bounced.stdout, new RegExp(`${AGENCY_B.organId}: arrived \\(01\\) at `), 'each answer on its line');
  t.match(bounced.stdout, new RegExp(`${CITY}: bounced at .*AGENCY_UNKNOWN`), 'the bounce with its reason');
  t.match(bounced.stderr, new RegExp(`^lienthong send: ${CITY} \\(bounced\\) did not get ${halfBounced.replaceAll('/', '\\/')}; .*\\(NOT_DELIVERED\\)\\n$`), 'and one line with the code');

  // The recipient finds the DocumentId in its inbox: no API key, no config change, edge running.
  const inbox = await lienthong('inbox', '--config', configB);
  t.equal(inbox.code, 0, inbox.stderr);
  t.match(inbox.stdout, `inbox of ${AGENCY_B.organId}: 2 document(s)`);
  t.match(inbox.stdout, delivered);
  t.match(inbox.stdout, `from ${AGENCY_A.organId}`);
  t.match(inbox.stdout, 'here: arrived (01)');
  const inboxJson = JSON.parse((await lienthong('inbox', '--config', configB, '--json')).stdout) as { total: number; items: Array<{ documentId: string; sender: string }> };
  t.equal(inboxJson.total, 2);
  t.same(inboxJson.items.map((d) => d.documentId).sort(), [delivered, halfBounced], 'the REST list shape, both documents');
  const searched = JSON.parse((await lienthong('inbox', '--config', configB, '--search', '41/UBND', '--json')).stdout) as { total: number };
  t.equal(searched.total, 1, '--search narrows it');

  const outbox = await lienthong('outbox', '--config', configA);
  t.equal(outbox.code, 0, outbox.stderr);
  t.match(outbox.stdout, `outbox of ${AGENCY_A.organId}: 2 document(s)`);
  t.match(outbox.stdout, `to ${CITY}: bounced`);
  const bouncedOnly = JSON.parse((await lienthong('outbox', '--config', configA, '--stage', 'bounced', '--json')).stdout) as { items: Array<{ documentId: string }> };
  t.same(bouncedOnly.items.map((d) => d.documentId), [halfBounced], '--stage bounced finds what did not get there');

  // The sender's whole story of a document: metadata, recipients, timeline with the bounce reason, packets, hop.
  const story = await lienthong('show', '--config', configA, halfBounced);
  t.equal(story.code, 0, story.stderr);
  t.match(story.stdout, `${halfBounced} (sent by this agency)`);
  t.match(story.stdout, 'Subject:      V/v thử nghiệm số 42');
  t.match(story.stdout, new RegExp(`${CITY}\\s+bounced: .*AGENCY_UNKNOWN`), 'the timeline gives the reason of the bounce');
  t.match(story.stdout, new RegExp(`${AGENCY_B.organId}\\s+01 arrived`));
  t.match(story.stdout, new RegExp(`received  \\S+  status 01 from ${AGENCY_B.organId}, .*routed by hub ${DEV_HUB.organId} at .* \\(normal lane\\)`), "the hub's hop of B's receipt");
  t.match(story.stdout, new RegExp(`signed    \\S+  document to ${AGENCY_B.organId}, ${CITY}, normal lane, .*; published `));

  const view = JSON.parse((await lienthong('show', '--config', configA, halfBounced, '--json')).stdout) as {
    documentId: string;
    deliveries: Array<{ recipient: string; stage: string }>;
    timeline: Array<{ recipient: string; event: string; description: string | null }>;
    packets: { sent: Array<{ kind: string; sentAt: string | null }>; received: Array<{ sender: string; hop: { hub: string; routedAt: string | null; lane: string | null } | null }> };
  };
  t.same(
    view.deliveries.map((d) => [d.recipient, d.stage]),
    [
      [AGENCY_B.organId, '01'],
      [CITY, 'bounced'],
    ],
  );
  t.match(view.timeline.find((e) => e.event === 'bounced'), { recipient: CITY, description: /AGENCY_UNKNOWN/ });
  t.match(view.packets.sent, [{ kind: 'document', sentAt: String }]);
  t.match(
    view.packets.received.find((p) => p.sender === AGENCY_B.organId),
    { hop: { hub: DEV_HUB.organId, routedAt: String, lane: 'normal' } },
  );

  const received = await lienthong('show', '--config', configB, delivered, '--json');
  const receivedView = JSON.parse(received.stdout) as { direction: string; packets: { received: Array<{ kind: string; hop: { hub: string } | null }> } };
  t.equal(receivedView.direction, 'in');
  t.match(receivedView.packets.received, [{ kind: 'document', hop: { hub: DEV_HUB.organId } }], 'the recipient sees the hub that routed the document to it');

  const unknown = await lienthong('show', '--config', configA, `${AGENCY_A.organId},${today},999/UBND-VP`);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^lienthong show: no document .* in the outbox or inbox of 000\.00\.01\.H12; list them with "lienthong outbox" or "lienthong inbox" \(NOT_FOUND\)\n$/);
});

t.test('an edge that never ran: the verbs say so instead of creating a database', async (t) => {
  const cluster = await startCluster(t, { prefixBase: 'lt-cli-show', agencies: [AGENCY_A] });
  const r = await lienthong('outbox', '--config', cluster.edgeConfigPath(AGENCY_A.organId));
  t.equal(r.code, 2);
  t.match(r.stderr, /^lienthong outbox: the edge of 000\.00\.01\.H12 has no database at .*edge\.sqlite yet: start it once \("lienthong edge --config .*"\), or check dataDir \/ LT_DATA_DIR .*\(IO\)\n$/);
});
