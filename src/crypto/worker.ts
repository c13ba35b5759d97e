/** Entry point of a crypto worker thread: runs jobs posted by CryptoPool. */
import { parentPort, workerData } from 'node:worker_threads';
import { CryptoJobRunner, transferablesOf, type CryptoJob, type CryptoJobResult } from './jobs.js';
import { useCryptoEngine, type CryptoEngineName } from './engine.js';
import type { TrustMaterial } from './trust.js';

const data = workerData as { trust?: TrustMaterial; engine?: CryptoEngineName };
useCryptoEngine(data.engine ?? 'node');
const runner = new CryptoJobRunner(data.trust);

parentPort?.on('message', (message: { id: number; job: CryptoJob } | { trust: TrustMaterial }) => {
  // Messages are handled in the order posted: every job posted after new trust runs under it.
  if ('trust' in message) return runner.useTrust(message.trust);
  void runner.run(message.job).then((result) => reply(message.id, result));
});

function reply(id: number, result: CryptoJobResult): void {
  try {
    parentPort?.postMessage({ id, result }, transferablesOf(result));
  } catch {
    // A buffer Node will not let go of (from its shared pool): copied then, as before.
    parentPort?.postMessage({ id, result });
  }
}
