/**
 * Ajv is loaded on the first payload check, not with the module: an edge imports the payload
 * schemas for its folder door and REST API and would otherwise hold some 66 CommonJS files
 * while it checks nothing (the idle edge's memory target of issue 15).
 */
import { join } from 'node:path';
import t from 'tap';
import { runModuleScript } from '../helpers/module-loads.js';
import { REPO } from '../helpers/pki.js';

t.test('importing the payload schemas does not load Ajv; the first check does, and checks', async (t) => {
  const script = [
    "const { payloadViolation } = await import(process.argv[1]);",
    "const ajvLoaded = () => loadedFiles().some((file) => file.includes('/node_modules/ajv/'));",
    'const before = ajvLoaded();',
    "const violation = payloadViolation('attachment-file-params.json', { documentId: 'd', contentId: 'cid:1', '*': 'a.pdf', unknownField: 1 }, 'query');",
    'console.log(JSON.stringify({ before, after: ajvLoaded(), violation }));',
  ];
  const run = runModuleScript(script, join(REPO, 'dist/payload-schemas.js'));
  t.equal(run.status, 0, run.stderr);
  const { before, after, violation } = JSON.parse(run.stdout) as { before: boolean; after: boolean; violation?: { message: string } };
  t.equal(before, false, 'not loaded with the module');
  t.equal(after, true, 'loaded by the first check');
  t.match(violation?.message, /unknownField/, 'which answers as before: the unknown property is refused');
});
