// Which TypeORM this process really runs: the version of every package named "typeorm" whose files
// are in require.cache, found through real paths (so a symlinked node_modules/typeorm counts as the
// package it points to). One version, the expected one, means the CLI, the data source file and
// typeorm-sealed's dist all used that TypeORM and nothing loaded another.
const { readFileSync, realpathSync } = require('node:fs');
const { join, sep } = require('node:path');

function loadedTypeormVersions() {
  const versions = new Set();
  const seen = new Set();
  for (const file of Object.keys(require.cache)) {
    let real;
    try {
      real = realpathSync(file);
    } catch {
      continue;
    }
    const at = real.lastIndexOf(`${sep}node_modules${sep}`);
    if (at < 0) continue;
    const parts = real.slice(at + 14).split(sep);
    const root = real.slice(0, at + 14) + parts.slice(0, parts[0].startsWith('@') ? 2 : 1).join(sep);
    if (seen.has(root)) continue;
    seen.add(root);
    try {
      const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
      if (pkg.name === 'typeorm') versions.add(pkg.version);
    } catch {
      // not a package root
    }
  }
  return [...versions].sort();
}

/** Prints `typeorm-cli-fixture: TypeORM loaded: [...]` on stderr when the process exits. */
function reportTypeormOnExit() {
  process.on('exit', () => {
    require('node:fs').writeSync(2, `\ntypeorm-cli-fixture: TypeORM loaded: ${JSON.stringify(loadedTypeormVersions())}\n`);
  });
}

module.exports = { loadedTypeormVersions, reportTypeormOnExit };
