// Migrations that call KeyRotator.forMigration, run by TypeORM's own CLI (`typeorm migration:run
// -d data-source.js`) against the built package (dist/, built once by test/global-setup.js), on
// TypeORM 1.x (better-sqlite3) and on TypeORM 0.3 (sqlite3). That CLI calls
// `dataSource.setOptions({ subscribers: [], logging: ['query', 'error', 'schema'], ... })` before
// it initializes: the migrations' DataSource has no sealed subscriber, so forMigration must take
// the keys of the only sealedSubscriber the data source file configured; and every query is
// logged with its parameters, so the rotator's writes must keep plaintext out of that log.
//
// Each line runs the CLI four times on one SQLite file, one migration more each time (the data
// source file lists the first SEALED_MIGRATIONS): 1. create the legacy table with plaintext phones
// (its INSERTs log the phones: the log checks below can fail); 2. with a second sealedSubscriber
// configured, forMigration must refuse to guess, which shows that the CLI's DataSource really has
// no subscriber, i.e. that without the fallback the migration fails; 3. widenColumn +
// encryptExisting; 4. rotate to a new key.
import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { generateKey, KeyRing, keyIdOf, sealedSubscriber } from 'typeorm-sealed';
import { Customer } from './typeorm-cli-fixtures/entities';
import { PHONES } from './typeorm-cli-fixtures/migrations/1732000000000-create-customers';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(__dirname, 'typeorm-cli-fixtures');

interface Line {
  line: '1.x' | '0.3';
  /** This repository's install of that TypeORM line. */
  package: 'typeorm' | 'typeorm-03';
  driver: 'better-sqlite3' | 'sqlite';
}

/** Where and how to run one line's CLI and fixtures. */
interface Project {
  dir: string;
  database: string;
  cli: string;
  dataSourceFile: string;
  readBackFile: string;
  nodeFlags: string[];
  env: NodeJS.ProcessEnv;
}

interface Run {
  code: number;
  output: string;
}

/**
 * TypeORM 1.x: the fixtures in place and this repository's `typeorm`; the fixtures resolve
 * `typeorm-sealed` to dist/ through the package's self-reference (package.json "exports").
 *
 * TypeORM 0.3: a temporary project as a user on 0.3 has it. `node_modules/typeorm` is a symlink to
 * this repository's `typeorm-03`; `node_modules/typeorm-sealed` is a real directory with a copy of
 * package.json and a symlink `dist` to this repository's dist/; the fixtures are copied beside them.
 * Node resolves symlinks to real paths by default, and from /work/main/dist a `require('typeorm')`
 * would find this repository's TypeORM 1.x. `--preserve-symlinks` (and `-main` for cli.js itself)
 * keeps the linked paths, so the CLI, the data source file and the library all load the one
 * TypeORM 0.3 under <project>/node_modules/typeorm. Everything else (reflect-metadata, @noble/*,
 * sqlite3, TypeORM's own dependencies) is found through NODE_PATH in this repository's
 * node_modules. The fixtures print the TypeORM versions whose files the process loaded (found
 * through real paths), and the test requires exactly the expected one.
 */
function project(spec: Line): Project {
  const dir = mkdtempSync(join(tmpdir(), `sealed-typeorm-cli-${spec.line}-`));
  const database = join(dir, 'app.sqlite');
  if (spec.line === '1.x') {
    return {
      dir,
      database,
      cli: join(ROOT, 'node_modules', 'typeorm', 'cli.js'),
      dataSourceFile: join(FIXTURES, 'data-source.js'),
      readBackFile: join(FIXTURES, 'read-back.js'),
      nodeFlags: [],
      env: {},
    };
  }
  cpSync(FIXTURES, dir, { recursive: true });
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, 'typeorm-sealed'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(modules, 'typeorm-sealed', 'package.json'));
  symlinkSync(join(ROOT, 'dist'), join(modules, 'typeorm-sealed', 'dist'), 'dir');
  symlinkSync(join(ROOT, 'node_modules', spec.package), join(modules, 'typeorm'), 'dir');
  return {
    dir,
    database,
    cli: join(modules, 'typeorm', 'cli.js'),
    dataSourceFile: join(dir, 'data-source.js'),
    readBackFile: join(dir, 'read-back.js'),
    nodeFlags: ['--preserve-symlinks', '--preserve-symlinks-main'],
    env: { NODE_PATH: join(ROOT, 'node_modules') },
  };
}

/**
 * TypeORM's logger colours its output when it thinks a terminal or a CI system is watching (CI sets
 * FORCE_COLOR); the checks below read plain text.
 */
function withoutColors(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

/** Runs node; never rejects. A run killed by its time limit has code -1. */
function node(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  const base = { ...process.env };
  for (const name of Object.keys(base)) if (name === 'TYPEORM_SEALED_KEYS' || name === 'FORCE_COLOR' || name.startsWith('SEALED_')) delete base[name];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { env: { ...base, NO_COLOR: '1', ...env }, cwd, timeout: 100_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0;
        resolve({ code, output: withoutColors(`${stdout}\n${stderr}`) });
      },
    );
  });
}

/** The TypeORM versions the data source file reported as loaded when the CLI process exited. */
function typeormLoaded(run: Run): unknown {
  const line = /typeorm-cli-fixture: TypeORM loaded: (\[.*\])/.exec(run.output);
  return line ? JSON.parse(line[1]!) : `no report in: ${run.output}`;
}

/** Reads the SQLite file in this process (TypeORM 1.x, better-sqlite3, typeorm-sealed's source). */
async function readInTest(database: string, keys: KeyRing): Promise<{ phones: string[]; stored: string[]; migrations: string[] }> {
  const ds = await new DataSource({ type: 'better-sqlite3', database, entities: [Customer], subscribers: [sealedSubscriber({ keys })] }).initialize();
  try {
    const phones = (await ds.getRepository(Customer).find({ order: { id: 'ASC' } })).map((c) => c.phone);
    const stored = ((await ds.query('SELECT phone FROM customer ORDER BY id')) as { phone: string }[]).map((r) => r.phone);
    const migrations = ((await ds.query('SELECT name FROM migrations ORDER BY id')) as { name: string }[]).map((r) => r.name);
    return { phones, stored, migrations };
  } finally {
    await ds.destroy();
  }
}

/** Raw values only, with no subscriber and no entity: for the table before it is encrypted. */
async function readRaw(database: string): Promise<{ stored: string[]; migrations: string[] }> {
  const ds = await new DataSource({ type: 'better-sqlite3', database }).initialize();
  try {
    const stored = ((await ds.query('SELECT phone FROM customer ORDER BY id')) as { phone: string }[]).map((r) => r.phone);
    const migrations = ((await ds.query('SELECT name FROM migrations ORDER BY id')) as { name: string }[]).map((r) => r.name);
    return { stored, migrations };
  } finally {
    await ds.destroy();
  }
}

const LINES: Line[] = [
  { line: '1.x', package: 'typeorm', driver: 'better-sqlite3' },
  { line: '0.3', package: 'typeorm-03', driver: 'sqlite' },
];

describe.each(LINES)('typeorm migration:run on TypeORM $line ($driver)', (spec) => {
  const [oldKey, newKey] = [generateKey(), generateKey()];
  const expectedVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules', spec.package, 'package.json'), 'utf8')) as { version: string }).version;
  let app: Project;

  beforeAll(() => {
    // dist/ is built once for the whole run by test/global-setup.js (a build here would rewrite
    // dist/ while other test files, run in parallel, use it).
    expect(existsSync(join(ROOT, 'dist', 'index.js'))).toBe(true);
    expect(expectedVersion.startsWith(spec.line === '1.x' ? '1.' : '0.3.')).toBe(true);
    app = project(spec);
  }, 60_000);
  afterAll(() => {
    if (app) rmSync(app.dir, { recursive: true, force: true });
  }, 60_000);

  const migrationRun = (migrations: number, keys: string, extra: NodeJS.ProcessEnv = {}) =>
    node(
      [...app.nodeFlags, app.cli, 'migration:run', '-d', app.dataSourceFile],
      { ...app.env, TYPEORM_SEALED_KEYS: keys, SEALED_DRIVER: spec.driver, SEALED_DATABASE: app.database, SEALED_MIGRATIONS: String(migrations), ...extra },
      app.dir,
    );
  /** Reads back through typeorm-sealed on this line's TypeORM, in a child process of the same project. */
  const readBack = async (keys: string) => {
    const run = await node(
      [...app.nodeFlags, app.readBackFile],
      { ...app.env, TYPEORM_SEALED_KEYS: keys, SEALED_DRIVER: spec.driver, SEALED_DATABASE: app.database },
      app.dir,
    );
    expect(run).toMatchObject({ code: 0 });
    return JSON.parse(run.output) as { typeorm: string[]; phones: string[]; stored: string[]; verify: string };
  };
  const expectNoPlaintext = (run: Run) => {
    for (const phone of PHONES) expect(run.output).not.toContain(phone);
  };

  it('creates the legacy table with plaintext phones (the CLI logs query parameters)', async () => {
    const run = await migrationRun(1, oldKey);
    expect(run.output).toContain('Migration CreateCustomers1732000000000 has been executed successfully');
    expect(run.code).toBe(0);
    expect(typeormLoaded(run)).toEqual([expectedVersion]);
    // TypeORM's CLI logs every query with its parameters: here the seeding INSERTs show the phones.
    expect(run.output).toContain('-- PARAMETERS:');
    for (const phone of PHONES) expect(run.output).toContain(phone);
    expect(await readRaw(app.database)).toEqual({ stored: PHONES, migrations: ['CreateCustomers1732000000000'] });
  }, 120_000);

  it('runs the migrations on a DataSource without the sealed subscriber: with two rings configured, forMigration refuses to guess', async () => {
    // If the CLI left the data source file's subscriber on its DataSource, forMigration would take
    // that one and succeed. It fails with the message for "none on this DataSource", which is
    // where the fallback to the only configured sealedSubscriber applies.
    const run = await migrationRun(2, oldKey, { SEALED_SECOND_RING: '1' });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("no sealedSubscriber(...) is registered on this DataSource (TypeORM's CLI removes subscribers while it runs migrations)");
    expect(run.output).toContain('this process configured 2, so which keys to use is ambiguous');
    expect(typeormLoaded(run)).toEqual([expectedVersion]);
    // The migration's transaction rolled back, the widened table included.
    expect(await readRaw(app.database)).toEqual({ stored: PHONES, migrations: ['CreateCustomers1732000000000'] });
  }, 120_000);

  it('widens and encrypts the column in a migration with KeyRotator.forMigration(queryRunner).encryptExisting(), logging no plaintext', async () => {
    const run = await migrationRun(2, oldKey);
    expect(run.output).toContain('Migration EncryptCustomerPhone1732000000001 has been executed successfully');
    expect(run.code).toBe(0);
    expect(typeormLoaded(run)).toEqual([expectedVersion]);
    // The rotator's compare-and-swap UPDATE went through the logged CLI DataSource, without its values.
    expect(run.output).toMatch(/query: UPDATE "customer" .*\/\* typeorm-sealed \*\//);
    expectNoPlaintext(run);

    const sealed = `sealed:1:x:${keyIdOf(oldKey)}:`;
    const inTest = await readInTest(app.database, new KeyRing({ active: oldKey }));
    expect(inTest.phones).toEqual(PHONES);
    expect(inTest.stored).toHaveLength(PHONES.length);
    for (const value of inTest.stored) expect(value.startsWith(sealed)).toBe(true);
    expect(inTest.migrations).toEqual(['CreateCustomers1732000000000', 'EncryptCustomerPhone1732000000001']);

    const onLine = await readBack(oldKey);
    expect(onLine).toEqual({ typeorm: [expectedVersion], phones: PHONES, stored: inTest.stored, verify: 'complete' });
  }, 120_000);

  it('rotates to a new key in a migration with KeyRotator.forMigration(queryRunner).rotate(), logging no plaintext', async () => {
    const before = (await readRaw(app.database)).stored;
    const run = await migrationRun(3, `${newKey},${oldKey}`);
    expect(run.output).toContain('Migration RotateKeys1732000000002 has been executed successfully');
    expect(run.code).toBe(0);
    expect(typeormLoaded(run)).toEqual([expectedVersion]);
    expect(run.output).toMatch(/query: UPDATE "customer" .*\/\* typeorm-sealed \*\//);
    expectNoPlaintext(run);

    // Every value is under the new key: a ring with the new key alone opens them all.
    const sealed = `sealed:1:x:${keyIdOf(newKey)}:`;
    const inTest = await readInTest(app.database, new KeyRing({ active: newKey }));
    expect(inTest.phones).toEqual(PHONES);
    expect(inTest.stored).toHaveLength(PHONES.length);
    for (const [i, value] of inTest.stored.entries()) {
      expect(value.startsWith(sealed)).toBe(true);
      expect(value).not.toBe(before[i]);
    }
    expect(inTest.migrations).toEqual(['CreateCustomers1732000000000', 'EncryptCustomerPhone1732000000001', 'RotateKeys1732000000002']);

    const onLine = await readBack(newKey);
    expect(onLine).toEqual({ typeorm: [expectedVersion], phones: PHONES, stored: inTest.stored, verify: 'complete' });
  }, 120_000);
});
