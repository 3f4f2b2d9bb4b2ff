// Builds dist/ once before any test file runs: the CLI tests run the built binary, and the
// package tests compile against the built declarations. One build, so parallel test files never
// write dist/ at the same time. Then packs it as `npm pack` would publish it, to
// build/pack/typeorm-sealed.tgz, for the consumer projects (test/consumers) to install.
const { execFileSync } = require('node:child_process');
const { mkdirSync, readdirSync, renameSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');

module.exports = async function globalSetup() {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  const packDir = join(ROOT, 'build', 'pack');
  rmSync(packDir, { recursive: true, force: true });
  mkdirSync(packDir, { recursive: true });
  execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir], { cwd: ROOT, stdio: 'ignore' });
  const [packed] = readdirSync(packDir);
  renameSync(join(packDir, packed), join(packDir, 'typeorm-sealed.tgz'));
};
