/**
 * The hub's hold on its data directory. Several hub processes may route from one database (the
 * router is idempotent), so the running hub shares the lock; what must have the directory to
 * itself, a restore, takes it exclusively and is refused while any hub runs (and a hub started
 * during a restore is refused until it ends).
 */
import { InstanceLock } from '../store/instance-lock.js';
import type { HubConfig } from './config.js';

export const HUB_LOCK_NAME = 'hub';

export function shareHubDataDirectory(config: Pick<HubConfig, 'dataDir'>): InstanceLock {
  return InstanceLock.share({
    field: 'dataDir',
    dir: config.dataDir,
    name: HUB_LOCK_NAME,
    code: 'NODE_RUNNING',
    refusal: (holder, dir) =>
      `a restore${holder ? ` (PID ${holder.pid} on ${holder.host}, since ${holder.since})` : ''} is replacing the data directory ${dir}; ` +
      'start the hub once it has ended',
  });
}
