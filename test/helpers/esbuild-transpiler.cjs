// ts-node's transpiler for the test runner: esbuild strips the types (as tsx does) instead of
// TypeScript's transpileModule, which costs seconds of CPU per test process. Type checking is
// `npm run typecheck`'s job, before the tests run.
const { transformSync } = require('esbuild');

exports.create = () => ({
  transpile(input, { fileName }) {
    const out = transformSync(input, {
      loader: fileName.endsWith('x') ? 'tsx' : 'ts',
      format: 'esm',
      target: 'node20',
      sourcemap: 'external',
      sourcefile: fileName,
      tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    });
    return { outputText: out.code, sourceMapText: out.map };
  },
});
