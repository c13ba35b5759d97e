/**
 * Start-up tests: run a few lines of ESM in a fresh Node process and see which CommonJS files
 * it loaded (CommonJS packages imported from ESM land in require.cache). The lines get the
 * module under test as `process.argv[1]` and `loadedFiles()`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { REPO } from './pki.js';

const PRELUDE = ["import { createRequire } from 'node:module';", 'const loadedFiles = () => Object.keys(createRequire(import.meta.url).cache);'];

/** Run `lines` (ES module code) with `target` (a path under the repository) as process.argv[1]. */
export function runModuleScript(lines: readonly string[], target: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--input-type=module', '-e', [...PRELUDE, ...lines].join('\n'), target], { encoding: 'utf8', cwd: REPO });
}
