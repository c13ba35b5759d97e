/**
 * A TCP relay to the broker whose connections a test can cut, as a network would: the broker
 * itself (shared with other runs) is never stopped. `cut` resets the connections it carries;
 * `down` also refuses every new one until `up`, so a client's reconnect attempts fail as they
 * would against an unreachable host, for as long as the test wants.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import type { Test } from 'tap';

export interface TcpRelay {
  /** The AMQP URL of `amqpUrl` with the relay's address instead of the broker's (same credentials). */
  url: string;
  /** Reset every connection carried now; new ones still pass. */
  cut(): void;
  /** Reset every connection and refuse new ones (each is reset as it comes). */
  down(): void;
  /** Let connections through again. */
  up(): void;
  /** Connection attempts refused while down. */
  readonly refused: number;
}

export async function tcpRelay(t: Test, amqpUrl: string): Promise<TcpRelay> {
  const target = new URL(amqpUrl);
  const sockets = new Set<Socket>();
  let isDown = false;
  let refused = 0;
  const server = createServer((client) => {
    client.on('error', () => {});
    if (isDown) {
      refused += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5672) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const url = new URL(amqpUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as { port: number }).port);
  const cut = (): void => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    url: url.toString(),
    cut,
    down: () => {
      isDown = true;
      cut();
    },
    up: () => {
      isDown = false;
    },
    get refused() {
      return refused;
    },
  };
}
