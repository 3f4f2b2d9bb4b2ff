// Builds dist/ once before any test file runs: the CLI tests run the built binary, and the
// package tests compile against the built declarations. One build, so parallel test files never
// write dist/ at the same time.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async function globalSetup() {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: join(__dirname, '..'), stdio: 'inherit' });
};
