/**
 * `lienthong <args>` run in this process (src/cli/main) with its output captured: for commands
 * whose output is all a test checks (apikey new, webhooks list…), without a child's start-up.
 * Apart from cli.ts, which runs the built CLI as a user would and loads none of src/.
 */
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { REPO, type CliOutcome } from './cli.js';

export async function lienthongInProcess(...args: string[]): Promise<CliOutcome> {
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out[key] += chunk.toString();
        done();
      },
    });
  const code = await main(args, { stdout: sink('stdout'), stderr: sink('stderr'), env: { LT_LOG_LEVEL: 'silent' }, cwd: REPO });
  return { code, ...out };
}
