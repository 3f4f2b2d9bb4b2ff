// Writes an ES module entry beside each CommonJS entry that package.json "exports" maps an
// "import" condition to (dist/X.mjs and its types dist/X.d.mts): the .mjs re-exports the
// CommonJS build, so `import` and `require` share one module instance (one registry of
// @Encrypted columns, one SealedError class), and the .d.mts re-exports the CommonJS types, so
// TypeScript sees an ES module under `import` (nodenext) instead of CommonJS types.
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const { exports: entries } = require(path.join(root, 'package.json'));

for (const target of Object.values(entries)) {
  const esm = target.import?.default;
  if (!esm) continue;
  const cjs = path.join(root, target.require.default);
  const names = Object.keys(require(cjs)).filter((n) => n !== '__esModule');
  const from = `./${path.basename(cjs)}`;
  fs.writeFileSync(path.join(root, esm), `import cjs from '${from}';\nexport const { ${names.join(', ')} } = cjs;\n`);
  fs.writeFileSync(path.join(root, target.import.types), `export * from '${from}';\n`);
}
