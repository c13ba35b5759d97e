/** Keep a long-running component (hub, edge) up until SIGINT/SIGTERM, then stop it cleanly. */
import type { Io } from './command.js';

export async function runUntilSignal(io: Io, what: string, stop: () => Promise<void>): Promise<number> {
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      io.stderr.write(`${what}: ${signal} received, stopping\n`);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await stop();
  return 0;
}
