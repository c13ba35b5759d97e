/**
 * The CLI verbs that work on an edge's or the hub's database from the side (send, status,
 * recall, overdue, agency, audit): load the configuration, open, do the work, close.
 */
import type { Edge } from '../edge/edge.js';
import type { HubConfig } from '../hub/config.js';
import type { Db } from '../store/db.js';
import type { Io } from './command.js';
import { requireOption } from './command.js';

/** An edge opened (keys loaded, crypto workers up) without connecting to the broker. */
export async function withOpenEdge<T>(configPath: string | undefined, io: Io, work: (edge: Edge) => Promise<T>): Promise<T> {
  const { loadEdgeConfig } = await import('../edge/config.js');
  const { Edge } = await import('../edge/edge.js');
  const { silentLogger } = await import('../log.js');
  const edge = new Edge(await loadEdgeConfig(requireOption(configPath, '--config'), io.env), { log: silentLogger() });
  try {
    await edge.open();
    return await work(edge);
  } finally {
    await edge.stop();
  }
}

/** The hub's configuration and its database (migrated), closed afterwards. */
export async function withHubDatabase<T>(configPath: string | undefined, io: Io, work: (db: Db, config: HubConfig) => Promise<T>): Promise<T> {
  const { loadHubConfig, hubDatabasePath } = await import('../hub/config.js');
  const { openDatabase } = await import('../store/db.js');
  const { HUB_MIGRATIONS } = await import('../store/migrations/hub.js');
  const config = await loadHubConfig(requireOption(configPath, '--config'), io.env);
  const db = openDatabase(hubDatabasePath(config), HUB_MIGRATIONS, { synchronous: config.synchronous });
  try {
    return await work(db, config);
  } finally {
    db.close();
  }
}
