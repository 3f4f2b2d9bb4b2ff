// Writes dist/index.mjs and dist/nest/index.mjs: ES module entries that re-export the CommonJS
// build, so `import` and `require` share one module instance (one registry of @Encrypted
// columns, one SealedError class).
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
for (const entry of ['index', 'nest/index']) {
  const names = Object.keys(require(path.join(dist, `${entry}.js`))).filter((n) => n !== '__esModule');
  fs.writeFileSync(path.join(dist, `${entry}.mjs`), `import cjs from './index.js';\nexport const { ${names.join(', ')} } = cjs;\n`);
}
