/**
 * A test process in miniature, for test/integration/orphans.test.ts to SIGKILL: it starts a hub
 * and an edge the way every test does (ManagedProcess) and a private RabbitMQ node
 * (startPrivateBroker), prints their PIDs as one JSON line, and waits to be killed. Run with
 * `node --import tsx test/helpers/orphan-parent.ts <hub.json> <edge.json> <dir>`.
 */
import { join } from 'node:path';
import { startPrivateBroker } from './private-broker.js';
import { ManagedProcess } from './processes.js';

const [hubConfig, edgeConfig, dir] = process.argv.slice(2) as [string, string, string];
const hub = new ManagedProcess('hub', ['hub', '--config', hubConfig], join(dir, 'orphan-hub.log'), 'hub started');
const edge = new ManagedProcess('edge', ['edge', '--config', edgeConfig], join(dir, 'orphan-edge.log'), 'edge started');
await hub.start();
await edge.start();
// Nobody tears it down: the point is what happens when this process dies without cleaning up.
const broker = await startPrivateBroker({ teardown: () => {} });
process.stdout.write(`${JSON.stringify({ hub: hub.pid, edge: edge.pid, broker: broker.pids(), brokerDir: broker.dir })}\n`);
setInterval(() => {}, 60_000); // until killed
