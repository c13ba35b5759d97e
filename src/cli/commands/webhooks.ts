/**
 * `lienthong webhooks list | replay`: an edge's webhook deliveries, from its database beside
 * the running edge (WAL): listing reads only; a replay makes the delivery pending again, and the
 * running edge's dispatcher sends it at its next look (a quarter of a second).
 */
import { existsSync } from 'node:fs';
import { EXIT_OK, parseCommandArgs, reportError, requireOption, writeJson, type Command } from '../command.js';
import { withEdgeReader } from '../edge-reader.js';
import { localTime } from '../display.js';
import { LtError } from '../../errors.js';
import type { WebhookDelivery } from '../../adapters/webhooks/store.js';

const USAGE = 'lienthong webhooks list --config edge.json [--state pending|delivered|failed] [--limit N] [--json]\n       lienthong webhooks replay ID --config edge.json [--json]';
const STATES = ['pending', 'delivered', 'failed'];

function line(d: WebhookDelivery): string {
  const when = d.state === 'pending' ? `next ${localTime(d.nextAttemptAt as string)}` : d.state === 'delivered' ? `at ${localTime(d.deliveredAt as string)}` : `gave up ${localTime(d.updatedAt)}`;
  const error = d.lastError && d.state !== 'delivered' ? `  (${d.lastError})` : '';
  return `${String(d.id).padStart(6)}  ${d.state.padEnd(9)} ${d.type.padEnd(17)} ${d.eventId}  ${d.url}  attempts ${d.attempts}, ${when}${error}`;
}

export const webhooksCommand: Command = {
  name: 'webhooks',
  help: `Usage: ${USAGE}

"list" shows the edge's webhook deliveries, newest first: number, state, event type, event id,
URL, attempts, and when the next try is (pending), when it was delivered, or when it was given
up (failed, with the last error). It reads the database read-only while the edge runs.
"replay ID" makes delivery ID pending again with a fresh give-up time: the running edge sends
it at once, with the same event id and body (receivers drop what they already have). Use it for
a failed delivery once the receiver is fixed, or for one the receiver lost.
The same is at GET /api/v1/webhooks/deliveries and POST /api/v1/webhooks/deliveries/{id}/replay.

Options:
  --config FILE    the edge configuration (required)
  --state STATE    list only pending, delivered or failed deliveries
  --limit N        at most N deliveries (default 100)
  --json           print {"counts", "items"} (list) or the delivery (replay) as the REST API does
  -h, --help       this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        state: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
      });
      const [action, id, ...extra] = positionals;
      if (extra.length > 0) throw new LtError('USAGE', `unexpected argument "${extra[0]}"`);
      if (action === 'list') {
        if (id !== undefined) throw new LtError('USAGE', `unexpected argument "${id}"`);
        if (values.state !== undefined && !STATES.includes(values.state)) throw new LtError('USAGE', `--state must be one of ${STATES.join(', ')}`);
        const limit = values.limit === undefined ? 100 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new LtError('USAGE', '--limit must be a whole number from 1');
        const { WebhookStore } = await import('../../adapters/webhooks/store.js');
        return await withEdgeReader(values.config, io, (reader) => {
          const store = new WebhookStore(reader.db);
          const items = store.list({ ...(values.state ? { state: values.state as WebhookDelivery['state'] } : {}), limit });
          const counts = store.counts();
          if (values.json) writeJson(io, { counts, items });
          else {
            io.stdout.write(`${counts.pending} pending, ${counts.delivered} delivered, ${counts.failed} failed\n`);
            for (const d of items) io.stdout.write(`${line(d)}\n`);
          }
          return EXIT_OK;
        });
      }
      if (action === 'replay') {
        if (id === undefined || !/^[1-9]\d{0,15}$/.test(id)) throw new LtError('USAGE', `give the delivery's number (the first column of "webhooks list"): ${USAGE}`);
        return await replay(Number(id), values.config, values.json ?? false, io);
      }
      throw new LtError('USAGE', action ? `unknown action "${action}": ${USAGE}` : `give an action: ${USAGE}`);
    } catch (error) {
      return reportError(io, 'webhooks', error);
    }
  },
};

async function replay(id: number, configPath: string | undefined, json: boolean, io: Parameters<Command['run']>[1]): Promise<number> {
  const { loadEdgeConfig, edgeDatabasePath } = await import('../../edge/config.js');
  const { openDatabase } = await import('../../store/db.js');
  const { EDGE_MIGRATIONS } = await import('../../store/migrations/edge.js');
  const { WebhookStore } = await import('../../adapters/webhooks/store.js');
  const { DEFAULT_WEBHOOK_RETRY } = await import('../../edge/webhook-settings.js');
  const config = await loadEdgeConfig(requireOption(configPath, '--config'), io.env);
  const path = edgeDatabasePath(config);
  if (!existsSync(path)) throw new LtError('IO', `the edge of ${config.organId} has no database at ${path} yet: start it once, or check dataDir / LT_DATA_DIR`, { path });
  const db = openDatabase(path, EDGE_MIGRATIONS, { synchronous: config.synchronous });
  try {
    const delivery = new WebhookStore(db).replay(id, new Date(), (config.webhookRetry ?? DEFAULT_WEBHOOK_RETRY).giveUpAfterSeconds);
    if (!delivery) throw new LtError('NOT_FOUND', `no webhook delivery ${id} at the edge of ${config.organId}; see "lienthong webhooks list --config ${configPath}"`);
    if (json) writeJson(io, delivery);
    else io.stdout.write(`delivery ${delivery.id} (${delivery.eventId} → ${delivery.url}) is pending again: the running edge sends it now\n`);
    return EXIT_OK;
  } finally {
    db.close();
  }
}
