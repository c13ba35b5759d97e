/**
 * The README's reference tables keep up with the code: every `lienthong` verb is in the command
 * table, every key the edge reads from edge.json is in the edge configuration table, and every
 * environment variable the configuration reads is named. A verb or key added without a README
 * line fails here, not in the first hour of a new agency's IT.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadAllCommands } from '../../src/cli/commands/index.js';
import { REPO } from '../helpers/pki.js';
import { readmeSection } from '../helpers/readme.js';

const COMMANDS = await loadAllCommands();

/** The keys a configuration module reads from the file: `raw.key`, `raw, 'key'`. */
function keysRead(file: string): string[] {
  const source = readFileSync(join(REPO, file), 'utf8');
  return [...source.matchAll(/\braw\.([a-zA-Z]+)|\braw, '([a-zA-Z]+)'/g)].map((m) => (m[1] ?? m[2]) as string);
}

t.test('every verb is in the command table', async (t) => {
  const table = readmeSection('## Command line');
  for (const command of COMMANDS) t.match(table, new RegExp(`\\| \`lienthong ${command.name}[ \`]`), `lienthong ${command.name}`);
});

t.test('every key of edge.json is in the edge configuration table, with its environment variable', async (t) => {
  const configuration = readmeSection('## Configuration');
  const edgeTable = configuration.slice(configuration.indexOf('**edge.json**'));
  const keys = new Set([...keysRead('src/edge/config.ts'), ...keysRead('src/config.ts')]);
  t.ok(keys.has('recallPolicy') && keys.has('calendar'), 'the keys are found in the source');
  for (const key of keys) t.match(edgeTable, new RegExp(`\`${key}[\`.]`), `edge.json "${key}"`);
  const variables = new Set(
    ['src/edge/config.ts', 'src/config.ts'].flatMap((file) => [...readFileSync(join(REPO, file), 'utf8').matchAll(/env\.(LT_[A-Z_]+|AMQP_URL)\b/g)].map((m) => m[1] as string)),
  );
  t.ok(variables.has('LT_CLAMD') && variables.has('LT_API_PORT'), 'the variables are found in the source');
  for (const variable of variables) t.match(edgeTable, variable, `env ${variable}`);
});
