/**
 * The broker's state on a node's health board (`/health`, metrics, dashboard): unreachable
 * (never yet, or lost) and blocking publishers are problems of the component "broker"; both
 * clear when the connection is up and unblocked. The connection logs each attempt itself; the
 * board logs only each change of state.
 */
import type { HealthBoard } from '../health.js';
import type { BrokerConnection } from './connection.js';
import { explainBrokerFailure } from './failures.js';

export const BROKER_COMPONENT = 'broker';

export function reportBrokerHealth(connection: BrokerConnection, health: HealthBoard, whatWaits: string): void {
  const unreachable = (error: Error): void => {
    const failure = explainBrokerFailure(error, connection.url);
    health.raise(BROKER_COMPONENT, failure.error.code, `${failure.error.message}; ${whatWaits}, and the connection is retried`);
  };
  connection.on('down', unreachable);
  connection.on('retry', ({ error }) => {
    // While it is down, the reason of the latest attempt is the one that matters.
    if (!connection.connected) unreachable(error);
  });
  connection.on('up', () => health.clear(BROKER_COMPONENT));
  connection.on('blocked', (reason) =>
    health.raise(BROKER_COMPONENT, 'BROKER_BLOCKED', `the broker blocks publishers (${reason}): ${whatWaits} until it unblocks`),
  );
  connection.on('unblocked', () => {
    if (connection.connected) health.clear(BROKER_COMPONENT);
  });
}
