/**
 * The broker rows: how the node reaches it (TLS or not), whether it may log in and open its
 * vhost, whether the exchanges and queues it uses exist, and whether its user may do what the
 * node does with them. The connection is made by BrokerConnection.connect, the function the
 * node itself uses, so whatever that applies (cluster addresses, TLS) is what is checked.
 * Nothing here sends or consumes a document.
 */
import type { Channel } from 'amqplib';
import { BrokerConnection, type BrokerConnectionOptions } from '../broker/connection.js';
import { explainBrokerFailure } from '../broker/failures.js';
import { redactUrl } from '../broker/url.js';
import type { ErrorCode, LtError } from '../errors.js';
import { silentLogger } from '../log.js';
import { settlesWithin } from '../time-limit.js';
import { ok, problem, type CheckRow } from './rows.js';

/** Whether an AMQP URL crosses a network unencrypted: plain amqp:// to anything but this machine. */
export function transportRow(url: string): CheckRow {
  const name = 'broker transport';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return problem(name, `${redactUrl(url)} is not a URL`, 'set "amqpUrl" (or AMQP_URL) to the AMQP URL the hub operator gave, amqps://user:password@host:5671/...');
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (u.protocol === 'amqps:') return ok(name, `TLS (amqps) to ${u.host}`);
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  if (loopback) return ok(name, `plain AMQP to ${u.host}, on this machine (not encrypted: use amqps:// for any other host)`);
  return problem(
    name,
    `plain AMQP to ${u.host}: the password and every document cross the network unencrypted`,
    'use amqps:// (port 5671) in "amqpUrl", with the CA of the broker\'s certificate in "brokerTls" (LT_BROKER_CA), once the broker has a TLS listener',
  );
}

/** What a refused connection needs changed, by the code explainBrokerFailure gave it. */
export function connectionFix(code: ErrorCode, setting: string): string {
  switch (code) {
    case 'BROKER_LOGIN_REFUSED':
      return `put the user and password "lienthong agency add" printed into ${setting}; if the password is lost, the hub operator issues a new one (lienthong agency remove, then add)`;
    case 'BROKER_VHOST_REFUSED':
      return `correct the vhost at the end of ${setting}, or have the broker administrator grant the user permissions on it (rabbitmqctl set_permissions)`;
    case 'BROKER_ACCESS_REFUSED':
      return 'have the broker administrator grant the permission the user lacks (rabbitmqctl list_permissions)';
    default:
      return `start the broker, or correct the host and port of ${setting}; check firewalls between this machine and the broker (nc -vz host port)`;
  }
}

export interface BrokerSession {
  connection: BrokerConnection;
  /** A fresh channel for one probe; a refused operation closes only its own channel. */
  probe<T>(what: string, work: (channel: Channel) => Promise<T>): Promise<{ value: T } | { error: LtError }>;
  close(): Promise<void>;
}

/** How long the connection may take, all nodes of a cluster tried. */
const CONNECT_TIMEOUT_MS = 20_000;

/** Connect as the node does, once per address: a check reports, it does not wait for a broker to come. */
export async function openBrokerSession(
  urls: readonly string[],
  name: string,
  /** What else the node passes to BrokerConnection.connect (its TLS settings, say), passed the same way. */
  nodeOptions: Partial<BrokerConnectionOptions> = {},
): Promise<{ session: BrokerSession } | { error: LtError }> {
  const attempt = BrokerConnection.connect(urls, { ...nodeOptions, name, initialRetries: Math.max(0, urls.length - 1), log: silentLogger(), background: false });
  const outcome = await Promise.race([
    attempt.then(
      (connection) => ({ connection }),
      (error: unknown) => ({ error: explainBrokerFailure(error, urls[0] ?? '').error }),
    ),
    new Promise<{ error: LtError }>((resolve) => {
      setTimeout(() => resolve({ error: explainBrokerFailure(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`), urls[0] ?? '').error }), CONNECT_TIMEOUT_MS).unref();
    }),
  ]);
  if ('error' in outcome) {
    // A connection that comes after the timeout is closed as it comes.
    void attempt.then((late) => late.close(1000)).catch(() => {});
    return { error: outcome.error };
  }
  const connection = outcome.connection;
  return {
    session: {
      connection,
      async probe(what, work) {
        let channel: Channel | undefined;
        try {
          channel = await connection.channel();
          return { value: await work(channel) };
        } catch (error) {
          return { error: explainBrokerFailure(error, connection.url, what).error };
        } finally {
          await channel?.close().catch(() => {});
        }
      },
      async close() {
        await settlesWithin(connection.close(2000), 3000);
      },
    },
  };
}

export function connectedRow(session: BrokerSession, user: string): CheckRow {
  return ok('broker connection', `logged in as "${user}" at ${redactUrl(session.connection.url)}`);
}

export function refusedRow(error: LtError, setting: string): CheckRow {
  return problem('broker connection', `${error.message} (${error.code})`, connectionFix(error.code, setting));
}

/** An exchange or queue the node uses, by passive declaration (existence only; no permission is needed). */
export async function presenceRow(
  session: BrokerSession,
  kind: 'exchange' | 'queue',
  name: string,
  label: string,
  missingFix: string,
): Promise<CheckRow & { found: boolean; messages?: number; consumers?: number }> {
  const result = await session.probe(`checking the ${kind} ${name}`, async (channel) =>
    kind === 'queue' ? channel.checkQueue(name) : (await channel.checkExchange(name), undefined),
  );
  if ('value' in result) {
    const q = result.value;
    const detail = q ? `${name}: ${q.messageCount} waiting, ${q.consumerCount} consumer${q.consumerCount === 1 ? '' : 's'}` : `${name} exists`;
    return { ...ok(label, detail), found: true, ...(q ? { messages: q.messageCount, consumers: q.consumerCount } : {}) };
  }
  if (result.error.code === 'BROKER_NOT_FOUND') return { ...problem(label, `the ${kind} ${name} does not exist`, missingFix), found: false };
  return { ...problem(label, `${result.error.message} (${result.error.code})`, connectionFix(result.error.code, 'the AMQP URL')), found: false };
}
