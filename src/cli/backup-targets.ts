/** What backup and restore need of a node's configuration: its data, the files it does not hold, its lock. */
import { basename } from 'node:path';
import type { IdentityFiles, TrustFileConfig } from '../config.js';
import { edgeDatabasePath, loadEdgeConfig, type EdgeConfig } from '../edge/config.js';
import { hubDatabasePath, loadHubConfig, type HubConfig } from '../hub/config.js';
import { HUB_LOCK_NAME } from '../hub/data-lock.js';
import type { NodeData, NodeKind } from '../store/backup.js';
import { InstanceLock, type InstanceLockOptions } from '../store/instance-lock.js';
import { EDGE_MIGRATIONS } from '../store/migrations/edge.js';
import { HUB_MIGRATIONS } from '../store/migrations/hub.js';

export interface BackupTarget {
  node: NodeData;
  notIncluded: string[];
  lock: () => InstanceLock;
}

function refusal(kind: NodeKind): InstanceLockOptions['refusal'] {
  return (holder, dir) =>
    `the ${kind}${holder ? ` (PID ${holder.pid} on ${holder.host}, since ${holder.since})` : ''} runs on the data directory ${dir}; ` +
    'stop it before restoring (a restore replaces the data under it)';
}

/** What backup and restore need of an edge's configuration; the lock is the one the running edge holds (edge.lock). */
export function edgeBackupTarget(config: EdgeConfig): BackupTarget {
  return {
    node: { kind: 'edge', organId: config.organId, dataDir: config.dataDir, database: basename(edgeDatabasePath(config)), migrations: EDGE_MIGRATIONS },
    notIncluded: filesNamed(config.identity, config.trust),
    lock: () => InstanceLock.acquire({ dir: config.dataDir, name: 'edge', code: 'NODE_RUNNING', field: 'dataDir', refusal: refusal('edge') }),
  };
}

/** The same of a hub's; its lock is the one running hubs share (src/hub/data-lock.ts). */
export function hubBackupTarget(config: HubConfig): BackupTarget {
  return {
    node: { kind: 'hub', organId: config.organId, dataDir: config.dataDir, database: basename(hubDatabasePath(config)), migrations: HUB_MIGRATIONS },
    notIncluded: filesNamed(config.identity, config.trust),
    lock: () => InstanceLock.acquire({ dir: config.dataDir, name: HUB_LOCK_NAME, code: 'NODE_RUNNING', field: 'dataDir', refusal: refusal('hub') }),
  };
}

export async function backupTargetOf(kind: NodeKind, configFile: string, env: NodeJS.ProcessEnv): Promise<BackupTarget> {
  return kind === 'edge' ? edgeBackupTarget(await loadEdgeConfig(configFile, env)) : hubBackupTarget(await loadHubConfig(configFile, env));
}

function filesNamed(identity: IdentityFiles, trust: TrustFileConfig): string[] {
  return [identity.key, identity.cert, ...(identity.chain ? [identity.chain] : []), ...trust.anchors, ...(trust.intermediates ?? []), ...(trust.crls ?? [])];
}
