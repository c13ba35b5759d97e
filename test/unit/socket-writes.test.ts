/**
 * The broker socket's writes of one tick leave as one writev, in order, over a real TCP socket:
 * amqplib writes every frame on its own, and each write is a system call that wakes the broker.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { coalesceWrites } from '../../src/broker/socket-writes.js';

async function pair(t: Test): Promise<{ client: Socket; received: (text: string) => Promise<void> }> {
  let text = '';
  const arrivals = new EventEmitter();
  const server = createServer((peer) =>
    peer.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      arrivals.emit('data');
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  t.teardown(() => {
    client.destroy();
    server.close();
  });
  // Resolves when the peer has read `expected` (as data arrives, not on a timer); rejects on anything else.
  const received = async (expected: string): Promise<void> => {
    while (text.length < expected.length) await once(arrivals, 'data');
    if (text !== expected) throw new Error(`the peer read ${JSON.stringify(text)}`);
  };
  return { client, received };
}

/** How the socket's own write paths were called: one chunk each, or several at once. */
function countWrites(socket: Socket): { single: number; vectors: number[] } {
  const counts = { single: 0, vectors: [] as number[] };
  const internals = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const write = internals._write.bind(socket);
  const writev = internals._writev.bind(socket);
  internals._write = (...a) => {
    counts.single += 1;
    write(...a);
  };
  internals._writev = (chunks, cb) => {
    counts.vectors.push(chunks.length);
    writev(chunks, cb);
  };
  return counts;
}

t.test('the frames of one tick go as one writev, in order; later ticks write again', async (t) => {
  const { client, received } = await pair(t);
  coalesceWrites(client);
  coalesceWrites(client); // twice is once
  const counts = countWrites(client);
  for (let i = 0; i < 5; i++) client.write(`frame-${i};`);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(counts, { single: 0, vectors: [5] }, 'five writes, one writev');
  client.write('later;');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(counts, { single: 1, vectors: [5] }, 'a lone write in a later tick goes as it is');
  await t.resolves(received('frame-0;frame-1;frame-2;frame-3;frame-4;later;'), 'the peer reads every frame in order');
});

t.test('without coalescing, each write is its own (what the wrapper changes)', async (t) => {
  const { client } = await pair(t);
  const counts = countWrites(client);
  for (let i = 0; i < 3; i++) client.write(`frame-${i};`);
  await new Promise((resolve) => setImmediate(resolve));
  t.ok(counts.single >= 1 && counts.single + counts.vectors.length > 1, `separate writes: ${JSON.stringify(counts)}`);
});
