/** Entry point of a crypto worker thread: runs jobs posted by CryptoPool. */
import { parentPort, workerData } from 'node:worker_threads';
import { CryptoJobRunner, type CryptoJob } from './jobs.js';
import { useCryptoEngine, type CryptoEngineName } from './engine.js';
import type { TrustMaterial } from './trust.js';

const data = workerData as { trust?: TrustMaterial; engine?: CryptoEngineName };
useCryptoEngine(data.engine ?? 'node');
const runner = new CryptoJobRunner(data.trust);

parentPort?.on('message', (message: { id: number; job: CryptoJob } | { trust: TrustMaterial }) => {
  // Messages are handled in the order posted: every job posted after new trust runs under it.
  if ('trust' in message) return runner.useTrust(message.trust);
  void runner.run(message.job).then((result) => parentPort?.postMessage({ id: message.id, result }));
});
