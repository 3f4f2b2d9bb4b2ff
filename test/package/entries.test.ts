// The package's entries as Node.js loads them from dist/ (built by test/global-setup.js): the main
// entry never loads @nestjs/* (optional peers), and typeorm-sealed/nest is one module instance
// whether it is imported or required.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Runs an ES module script in the checkout (so `typeorm-sealed` resolves to the package itself) and returns what it printed. */
function node(script: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout.trim()),
    ),
  );
}

describe('package entries', () => {
  it('the main entry, required or imported, loads no @nestjs module', async () => {
    const loaded = await node(`
      import { createRequire } from 'node:module';
      const require = createRequire(process.cwd() + '/');
      require('typeorm-sealed');
      await import('typeorm-sealed');
      console.log(JSON.stringify(Object.keys(require.cache).filter((path) => path.includes('@nestjs'))));
    `);
    expect(JSON.parse(loaded)).toEqual([]);
  }, 30_000);

  it('typeorm-sealed/nest imported and required is one module', async () => {
    const same = await node(`
      import { createRequire } from 'node:module';
      import * as imported from 'typeorm-sealed/nest';
      const require = createRequire(process.cwd() + '/');
      const required = require('typeorm-sealed/nest');
      const names = Object.keys(required).filter((name) => name !== '__esModule');
      console.log(JSON.stringify({
        names: names.sort(),
        same: names.every((name) => imported[name] === required[name]),
      }));
    `);
    expect(JSON.parse(same)).toEqual({ names: ['InjectSealedRepository', 'SealedTypeOrmModule', 'getSealedRepositoryToken'], same: true });
  }, 30_000);
});
