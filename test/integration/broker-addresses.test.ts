/**
 * Several broker addresses (issue 11, point 8) against real listeners: a node that is down is
 * passed over for the next, by the AMQP connection (at start-up and when the node in use is lost)
 * and by the management client. The dead node is a port nobody listens on; the live one is the
 * shared broker, only connected to, never stopped.
 */
import t from 'tap';
import { BrokerConnection } from '../../src/broker/connection.js';
import { ManagementClient } from '../../src/broker/management.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { managementOptions } from '../../src/demo/local-exchange.js';
import { LtError } from '../../src/errors.js';
import { captureLog } from '../helpers/log-capture.js';
import { freePort } from '../helpers/processes.js';

const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
const management = managementOptions(amqpUrl, process.env);

/** The live broker's URL at a port where nothing listens: a node that is down. */
async function deadNode(url: string): Promise<string> {
  const u = new URL(url);
  u.port = String(await freePort());
  return u.toString();
}

t.test('the first node is down: the connection goes on to the next and says which', async (t) => {
  const dead = await deadNode(amqpUrl);
  const captured = captureLog('broker');
  const connection = await BrokerConnection.connect([dead, amqpUrl], { name: 'lienthong test addresses', log: captured.log });
  t.teardown(() => connection.close());
  t.ok(connection.connected);
  t.equal(new URL(connection.url).port, new URL(amqpUrl).port || '5672', 'connected to the live node');
  const [retry] = captured.find('retrying in');
  t.equal(retry?.attempt, 1, 'one attempt failed');
  t.match(String(retry?.broker), `:${new URL(dead).port}`, 'at the dead node');
  t.match(String(retry?.next), `:${new URL(amqpUrl).port || 5672}`, 'and names the next one');
  t.match(String(retry?.err), /ECONNREFUSED/);
  t.equal(captured.find('connected to the broker')[0]?.attempt, 1, 'the next attempt connected');
  t.notMatch(captured.raw.join('\n'), /guest:guest@/, 'no password logged');
});

t.test('a comma-separated text works as the list does', async (t) => {
  const dead = await deadNode(amqpUrl);
  const captured = captureLog('broker');
  const connection = await BrokerConnection.connect(`${dead},${amqpUrl}`, { name: 'lienthong test addresses', log: captured.log });
  t.teardown(() => connection.close());
  t.same(connection.addresses.length, 2);
  t.ok(connection.connected);
});

t.test('every node down: each is tried in turn, then the start-up fails', async (t) => {
  const dead = [await deadNode(amqpUrl), await deadNode(amqpUrl)];
  const captured = captureLog('broker');
  try {
    await BrokerConnection.connect(dead, { name: 'lienthong test addresses', log: captured.log, initialRetries: 3 });
    t.fail('connected to nothing');
  } catch (error) {
    t.equal((error as LtError).code, 'BROKER_UNREACHABLE');
  }
  const tried = captured.find('retrying in').map((l) => new URL(String(l.broker)).port);
  t.same(tried, [new URL(dead[0] as string).port, new URL(dead[1] as string).port, new URL(dead[0] as string).port], 'the nodes were tried in turn');
});

t.test('the management client passes over a node that does not answer', async (t) => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  const api = new ManagementClient({ ...management, url: `${dead},${management.url}` });
  t.ok((await api.overview()).rabbitmq_version, 'answered by the second node');
  t.ok(Array.isArray(await api.listQueues()), 'and again');

  const none = new ManagementClient({ ...management, url: `${dead},http://127.0.0.1:${await freePort()}` });
  try {
    await none.overview();
    t.fail('answered by nobody');
  } catch (error) {
    t.equal((error as LtError).code, 'BROKER_MANAGEMENT_UNREACHABLE');
    t.match((error as Error).message, /ECONNREFUSED.*; nor did the 1 other management URL answer/);
  }
});
