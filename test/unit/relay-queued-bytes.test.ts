/**
 * The relay publishes a document's signed bytes as the outbox handed them over when it queued
 * the document, instead of reading them back from the blob store, and holds them only until a
 * round has taken the row: every other row, and the same row later, is read from the store.
 */
import t from 'tap';
import type { ConfirmPublisher, OutgoingMessage } from '../../src/broker/publisher.js';
import { resourceNames } from '../../src/broker/names.js';
import { Relay } from '../../src/edge/relay.js';
import { silentLogger } from '../../src/log.js';
import { openEdgeStore } from '../helpers/edge-store.js';
import { waitFor } from '../helpers/exchange.js';

t.test('the bytes just queued are published as given, not read back; other rows are read from the store', async (t) => {
  const { db, records, blobs } = openEdgeStore(t, 'lt-relay-');
  const readBack: string[] = [];
  const get = blobs.get.bind(blobs);
  blobs.get = (hash) => {
    readBack.push(hash);
    return get(hash);
  };

  const published: Array<{ packetId: string; content: Buffer }> = [];
  // Refuses what the test says, to show that a failed round lets go of the bytes too.
  let refuse = false;
  const publisher = {
    publish: async (message: OutgoingMessage) => {
      if (refuse) throw new Error('the broker is away');
      published.push({ packetId: String(message.options.messageId), content: message.content });
    },
  } as unknown as ConfirmPublisher;
  const relay = new Relay({ records, blobs, publisher, names: resourceNames('lt-relay-test'), organId: '000.00.01.H12', brokerUser: 'lt-relay-test.agency.000.00.01.H12', clock: () => new Date(), log: silentLogger(), pollMs: 60_000 });
  t.teardown(() => relay.stop());

  let n = 0;
  const queue = async (bytes: Buffer): Promise<{ packetId: string; blob: string }> => {
    const blob = await blobs.put(bytes);
    const packetId = `p-${++n}`;
    records.insertOutbox({ packetId, kind: 'document', documentId: `d-${n}`, recipients: ['000.00.05.H12'], priority: '0', lane: 'normal', statusCode: null, blob, client: 'test', createdAt: new Date(Date.now() + n).toISOString() });
    return { packetId, blob };
  };

  relay.start();
  const signed = Buffer.from('<edXML>the signed document</edXML>');
  const document = await queue(signed);
  const status = await queue(Buffer.from('<edXML>a status</edXML>'));
  relay.wake(false, { blob: document.blob, content: signed });
  await waitFor('both rows published', () => published.length === 2);
  t.equal(published.find((p) => p.packetId === document.packetId)?.content, signed, 'the document went out as the very bytes handed over');
  t.same(readBack, [status.blob], 'only the other row was read from the blob store');

  // Handed over again for a row that fails: the round lets go of them all the same.
  refuse = true;
  const next = Buffer.from('<edXML>the next document</edXML>');
  const third = await queue(next);
  relay.wake(false, { blob: third.blob, content: next });
  await waitFor('the failed attempt recorded', () => (records.outboxEntry(third.packetId)?.attempts ?? 0) > 0);
  refuse = false;
  readBack.length = 0;
  relay.wake();
  await waitFor('the retry published', () => published.some((p) => p.packetId === third.packetId));
  t.same(readBack, [third.blob], 'the retry read the row from the blob store: the relay held the bytes no longer than one round');
  t.ok(published.find((p) => p.packetId === third.packetId)?.content.equals(next), 'and published the same bytes');
});
