/**
 * On every hop of a packet the node writes its bytes to the blob store (an fsync) and has them
 * verified (a crypto worker): the two do not wait for each other. At the hub, where each packet
 * of the exchange passes twice (the document, its 01), the write begins before the verification
 * has ended; and it publishes the packet from the bytes it holds, without reading back what it
 * has just written. Observed on an in-process exchange by wrapping the hub's crypto pool and blob
 * store.
 */
import t from 'tap';
import type { CryptoPool } from '../../src/crypto/pool.js';
import { A, B, agency, letter, openExchange, stageAt, waitFor } from '../helpers/exchange.js';

t.test("the hub begins writing a packet's bytes before its verification ends", async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B)]);
  const hub = exchange.hub;
  // The hub's own pool (private to it): the edges in this process verify the same bytes with theirs.
  const pool = (hub as unknown as { pool: CryptoPool }).pool;
  const seen = new Map<unknown, string[]>();
  const note = (bytes: unknown, event: string): void => void seen.set(bytes, [...(seen.get(bytes) ?? []), event]);
  const verify = pool.verify.bind(pool);
  pool.verify = async (xml, options) => {
    const verification = await verify(xml, options);
    note(xml, 'verified');
    return verification;
  };
  const put = hub.blobs.put.bind(hub.blobs);
  hub.blobs.put = (data) => {
    note(data, 'stored');
    return put(data);
  };

  const a = exchange.edge(A);
  const sent = await a.outbox.submitDocument(letter([B], 'HT-1', { priority: '3' }), 'test');
  await waitFor('the 01 back at A', () => stageAt(a, sent.documentId, B) === '01');

  const verified = [...seen.values()].filter((events) => events.includes('verified'));
  t.equal(verified.length, 2, 'the hub verified two packets: the document and its 01');
  for (const events of verified) t.same(events, ['stored', 'verified'], 'its bytes were being written before the verification ended');
});

t.test('the hub publishes a routed packet from the bytes it holds, without reading them back', async (t) => {
  const { exchange } = await openExchange(t, [agency(A), agency(B)]);
  const hub = exchange.hub;
  const written = new Set<string>();
  const readBack: string[] = [];
  const put = hub.blobs.put.bind(hub.blobs);
  hub.blobs.put = async (data) => {
    const hash = await put(data);
    written.add(hash);
    return hash;
  };
  const get = hub.blobs.get.bind(hub.blobs);
  hub.blobs.get = (hash) => {
    if (written.has(hash)) readBack.push(hash);
    return get(hash);
  };

  const a = exchange.edge(A);
  const sent = await a.outbox.submitDocument(letter([B], 'HT-3', { priority: '3' }), 'test');
  await waitFor('the 01 back at A', () => stageAt(a, sent.documentId, B) === '01');
  t.equal(written.size, 2, 'the hub wrote the document and its 01');
  t.same(readBack, [], 'and read neither back to publish it');
});
