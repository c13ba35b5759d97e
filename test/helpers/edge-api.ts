/**
 * Helpers for the REST adapter tests: an edge that is only opened (keys loaded, crypto workers
 * running, SQLite in a temporary directory, no broker), API keys made the way an operator makes
 * them (`lienthong apikey new`), and a check of error bodies against schemas/api/error.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Ajv from 'ajv';
import type { Test } from 'tap';
import { main } from '../../src/cli/main.js';
import { DEV_HUB, devPath, devTrust } from '../../src/demo/local-exchange.js';
import { edgeConfigFrom, type ApiKeyConfig } from '../../src/edge/config.js';
import { Edge } from '../../src/edge/edge.js';
import { silentLogger } from '../../src/log.js';
import { organ, REPO } from './pki.js';

/**
 * An opened edge of `organId` with its data in a fresh test directory, configured the way an
 * operator's edge.json would configure it (so every default is the real one); stopped at teardown.
 */
export async function openedEdge(t: Test, organId: string, raw: Record<string, unknown> = {}): Promise<Edge> {
  const config = edgeConfigFrom(
    {
      organId,
      organization: { organId, organName: organ(organId).name },
      hubOrganId: DEV_HUB.organId,
      amqpUrl: 'amqp://127.0.0.1:1',
      prefix: 'lt-unit',
      dataDir: t.testdir(),
      identity: { key: devPath('agencies', `${organId}.key.pem`), cert: devPath('agencies', `${organId}.pem`), chain: devPath('issuing-ca.pem') },
      trust: devTrust(),
      cryptoThreads: 1,
      ...raw,
    },
    REPO,
    'test edge.json',
    {},
  );
  const edge = new Edge(config, { log: silentLogger() });
  t.teardown(() => edge.stop());
  await edge.open();
  return edge;
}

/** `lienthong apikey new <client> --json`, run in-process: the key and the edge.json entry. */
export async function apiKeyFromCli(client: string): Promise<{ key: string; entry: ApiKeyConfig; stdout: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (write: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        write(chunk.toString());
        done();
      },
    });
  const code = await main(['apikey', 'new', client, '--json'], {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    env: {},
    cwd: REPO,
  });
  if (code !== 0) throw new Error(`apikey new exited ${code}: ${stderr}`);
  const out = JSON.parse(stdout) as { key: string; entry: ApiKeyConfig };
  return { key: out.key, entry: out.entry, stdout };
}

/** A validator of schemas/api/error.json (with the schemas it references). */
export function errorBodyValidator(): (body: unknown) => string | undefined {
  const ajv = new Ajv.default({ allErrors: true, strict: false });
  const dir = join(REPO, 'schemas', 'api');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')) as object);
  const validate = ajv.getSchema('error.json');
  if (!validate) throw new Error('schemas/api/error.json is missing');
  return (body) => (validate(body) ? undefined : ajv.errorsText(validate.errors));
}
