/**
 * A recipient's edge writes a received document's bytes and attachments while it signs the 01
 * answering it: the writes (fsyncs) do not wait for the signature, so they do not add to the
 * time before the 01 is queued. Observed on opened edges (no broker) by the order in which the
 * recipient's blob store is asked to write: the 01 is written once signed, so anything asked
 * before it was begun before the signature was done.
 */
import t from 'tap';
import { inboxFeed, openedEdge } from '../helpers/edge-api.js';
import { attachmentBytes, letter } from '../helpers/exchange.js';
import { FINANCE, OFFICE } from '../helpers/pki.js';

t.test("a received document's bytes are written while its 01 is signed", async (t) => {
  const sender = await openedEdge(t, OFFICE);
  const recipient = await openedEdge(t, FINANCE);
  const feed = await inboxFeed(t, recipient);
  const sent = await sender.outbox.submitDocument(letter([FINANCE], 'HT-2', { priority: '3' }), 'test');
  const packet = await sender.blobs.get((sender.records.outboxEntry(sent.packetId) as { blob: string }).blob);
  const attachment = attachmentBytes('HT-2');

  const writes: string[] = [];
  const put = recipient.blobs.put.bind(recipient.blobs);
  recipient.blobs.put = (data) => {
    const bytes = Buffer.from(data);
    writes.push(bytes.equals(packet) ? 'document' : bytes.equals(attachment) ? 'attachment' : 'other (the 01)');
    return put(data);
  };

  t.equal(await feed.handOver(sender, sent.packetId), 'ack');
  t.same(feed.events.map((e) => e.type === 'document' && e.accepted), [true], 'received and answered');
  t.same(writes, ['document', 'attachment', 'other (the 01)'], 'the document and its attachment were being written before the 01 was signed');
});
