// Writes dist/index.mjs: an ES module entry that re-exports the CommonJS build, so `import` and
// `require` share one module instance (one registry of @Encrypted columns, one SealedError class).
const fs = require('node:fs');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((n) => n !== '__esModule');
fs.writeFileSync(path.join(dist, 'index.mjs'), `import cjs from './index.js';\nexport const { ${names.join(', ')} } = cjs;\n`);
