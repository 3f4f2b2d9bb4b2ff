// Runs the real binary (dist/cli/bin.js, built by test/global-setup.js) against a DataSource file.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { generateKey, KeyRing, keyIdOf, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects, WORKER_DATABASE } from '../integration/support/dialects';
import { sealFor } from '../integration/support/seal-for';
import { Account, Member, Tag } from './fixtures/entities';
import { BIN, cli } from './run-cli';

const FIXTURE = join(__dirname, 'fixtures', 'data-source.js');
const [oldKey, newKey] = [generateKey(), generateKey()];
const ring = new KeyRing({ active: newKey, decryptOnly: [oldKey] });
const oldRing = new KeyRing({ active: oldKey });

describe('typeorm-sealed generate-key and usage', () => {
  const run = (args: string[]) => cli(args, {});

  it('prints a new key once on stdout, its id and advice on stderr', async () => {
    const { code, stdout, stderr } = await run(['generate-key']);
    expect(code).toBe(0);
    const key = stdout.trim();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(stderr).toContain(`key id: ${keyIdOf(key)}`);
    expect(stderr).toContain('Store this key in your secret manager now');
    const quiet = await run(['generate-key', '--quiet']);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout.trim()).not.toBe(key);
  });

  it('exits 2 on a wrong command line, and prints help for each command', async () => {
    expect((await run(['rotate'])).code).toBe(2);
    expect((await run(['frobnicate'])).stderr).toContain('unknown command "frobnicate"');
    const scoped = await run(['decrypt-all', '-d', FIXTURE, '--scope', 'tenant-1', '--dry-run']);
    expect(scoped.code).toBe(2);
    expect(scoped.stderr).toContain('--scope does not apply to decrypt-all (it takes --data-source, --dotenv, --json, --help, --entity,');
    expect((await run(['rotate', '-d', FIXTURE, '--batch-size', '0'])).stderr).toContain('--batch-size must be a positive integer');
    const help = await run(['rotate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--dry-run');
    expect((await run(['decrypt-all', '-d', FIXTURE])).stderr).toContain('pass --yes');
  });

  it('exits 3 when the data source file cannot be loaded', async () => {
    const { code, stderr } = await run(['census', '-d', join(__dirname, 'fixtures', 'missing.js')]);
    expect(code).toBe(3);
    expect(stderr).toContain('cannot load');
  });

  it('exits 3 for a TypeScript data source when its project has no tsx, saying how to get a loader', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealed-cli-ts-')); // outside this checkout: no tsx above it
    writeFileSync(join(dir, 'data-source.ts'), 'export const dataSource: unknown = undefined;\n');
    try {
      const { code, stderr } = await run(['census', '-d', join(dir, 'data-source.ts')]);
      expect(code).toBe(3);
      expect(stderr).toContain('ERR_UNKNOWN_FILE_EXTENSION');
      expect(stderr).toContain('tsx is not installed in its project (nor under the current directory): install it in the project (npm install --save-dev tsx)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("never runs a tsx found above the data source file's project (a planted /tmp/node_modules/tsx)", async () => {
    const parent = mkdtempSync(join(tmpdir(), 'sealed-cli-planted-'));
    const marker = join(parent, 'ran');
    mkdirSync(join(parent, 'node_modules', 'tsx'), { recursive: true });
    writeFileSync(join(parent, 'node_modules', 'tsx', 'package.json'), JSON.stringify({ name: 'tsx', main: 'index.js' }));
    writeFileSync(join(parent, 'node_modules', 'tsx', 'index.js'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
    mkdirSync(join(parent, 'app'));
    writeFileSync(join(parent, 'app', 'package.json'), '{"name":"app"}');
    writeFileSync(join(parent, 'app', 'data-source.ts'), 'export const dataSource: unknown = undefined;\n');
    try {
      const { code, stderr } = await run(['census', '-d', join(parent, 'app', 'data-source.ts')]);
      expect(code).toBe(3);
      expect(stderr).toContain('tsx is not installed in its project');
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('does not echo what a file passed to -d holds when loading it throws (a key file given by mistake)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealed-cli-keyfile-'));
    // An unpadded base64url key that is also a JavaScript identifier: loading it throws a ReferenceError quoting it.
    const key = `K${generateKey()
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(1, 43)}`;
    const file = join(dir, 'master_key');
    writeFileSync(file, `${key}\n`);
    try {
      const { code, stdout, stderr } = await run(['census', '-d', file]);
      expect(code).toBe(3);
      expect(stderr).toContain('loading it threw ReferenceError; the message is not shown');
      expect(`${stdout}${stderr}`).not.toContain(key.slice(0, 12));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 3 when a Nest module given to -d cannot start, or makes no DataSource, saying which', async () => {
    const nest = join(__dirname, 'fixtures', 'nest-module.js');
    const env = { CLI_DIALECT: 'postgres', CLI_PORT: '1', TYPEORM_SEALED_KEYS: generateKey() };
    const down = await cli(['census', '-d', nest], env);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/cannot start the Nest module DatabaseModule of .*nest-module\.js: .*ECONNREFUSED/);
    const empty = await cli(['census', '-d', nest], { ...env, CLI_NEST_WITHOUT_TYPEORM: '1' });
    expect(empty.code).toBe(3);
    expect(empty.stderr).toContain('the Nest module DatabaseModule of');
    expect(empty.stderr).toContain('has no default DataSource: import TypeOrmModule.forRoot() or forRootAsync() (without a name) in it');
  }, 60_000);

  it('does not echo a -d argument that names no file (a key put in the wrong place)', async () => {
    const key = generateKey();
    const { code, stderr, stdout } = await run(['census', '-d', key]);
    expect(code).toBe(3);
    expect(stderr).toContain('no such file (the argument is not shown');
    expect(`${stdout}${stderr}`).not.toContain(key);
    expect(`${stdout}${stderr}`).not.toContain(key.slice(0, 12));
  });
});

describe.each(testDialects())('typeorm-sealed on %s', (dialect) => {
  let dir: string;
  let ds: DataSource;
  let env: NodeJS.ProcessEnv;
  const rows = 40;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealed-cli-'));
    ds = await openDataSource(dialect, [Account, Tag], [sealedSubscriber({ keys: ring })], join(dir, 'db.sqlite'));
    env = { CLI_DIALECT: dialect, CLI_SQLITE_FILE: join(dir, 'db.sqlite'), CLI_DATABASE: WORKER_DATABASE, TYPEORM_SEALED_KEYS: `${newKey},${oldKey}` };
    // Half under the old key, a quarter plaintext, a quarter already under the new key.
    const values = Array.from({ length: rows }, (_, i) => ({
      login: `a${i}`,
      email: i % 4 === 3 ? `a${i}@example.com` : sealFor(i % 4 === 2 ? ring : oldRing, 'cli_account', 'email', 'string', `a${i}@example.com`),
      score: null,
    }));
    await ds.createQueryBuilder().insert().into(Account).values(values).callListeners(false).execute();
  });
  afterEach(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]) => cli([...args, '-d', FIXTURE], env);
  const emails = async () => (await ds.getRepository(Account).find({ order: { id: 'ASC' } })).map((a) => a.email);
  const expected = Array.from({ length: rows }, (_, i) => `a${i}@example.com`);
  const underNew = async () => (await rawColumn(ds, 'cli_account', 'email')).filter((v) => String(v).startsWith(`sealed:1:x:${ring.activeKeyId}:`)).length;

  it('census, rotate, encrypt-existing and verify take a table to fully sealed under the new key', async () => {
    const before = await run('census');
    expect(before.code).toBe(1); // plaintext present
    expect(before.stdout).toMatch(new RegExp(`Account\\.email\\s+${rows}\\s+0\\s+10\\s+10\\s+20`));
    expect(before.stdout).toContain(`* active key ${ring.activeKeyId}`);

    const rotated = await run('rotate', '--batch-size', '7');
    expect(rotated.code).toBe(1); // the 10 plaintext values are not under the active key yet
    expect(rotated.stdout).toMatch(/Account\.email\s+20\s+20\s+0\s+0\s+10\s+incomplete/);
    expect(rotated.stdout).toContain('Account.email: 10 plaintext values are not under any key');
    expect(rotated.stderr).toContain('Account.email: 100% 20/20 rows'); // plain progress lines: not a TTY

    expect((await run('encrypt-existing')).code).toBe(0);
    expect((await run('rotate')).code).toBe(0);
    const census = JSON.parse((await run('census', '--json')).stdout);
    expect(census.columns.find((c: { column: string }) => c.column === 'email')).toMatchObject({ plaintext: 0, byKeyId: { [ring.activeKeyId]: rows } });
    expect((await run('verify')).code).toBe(0);
    expect(await emails()).toEqual(expected);
  });

  it('verify exits 1 naming the row that fails; rotate refuses (exit 3) keys the ring lacks', async () => {
    const [first] = (await rawColumn(ds, 'cli_account', 'email', { column: 'login', value: 'a0' })) as string[];
    await rawUpdate(ds, 'cli_account', 'email', first!.slice(0, first!.length - 4 - ((first!.length - 20) % 4)), { column: 'login', value: 'a0' });
    const verify = await run('verify', '--continue-on-error');
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/Account\.email SEALED_TAMPERED: 1 row: authentication failed[^\n]*\n {4}id=1\n/);

    await rawUpdate(ds, 'cli_account', 'email', sealFor(new KeyRing({ active: generateKey() }), 'cli_account', 'email', 'string', 'x'), {
      column: 'login',
      value: 'a0',
    });
    const refused = await run('rotate');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('SEALED_WRONG_KEY');
    expect(await underNew()).toBe(10); // nothing written
  });

  it('starts a data source whose subscriber checks key ids with a ring lacking the old key, so --keys-env can rotate', async () => {
    const checked = { ...env, CLI_CHECK_KEY_IDS: '1', TYPEORM_SEALED_KEYS: newKey, FULL_RING: `${newKey},${oldKey}` };
    const census = await cli(['census', '-d', FIXTURE], checked);
    expect(census.stderr).not.toContain('SEALED_WRONG_KEY');
    expect(census.stdout).toContain(`key ids not in the ring: ${oldRing.activeKeyId} (values under them cannot be opened)`);
    const rotated = await cli(['rotate', '--keys-env', 'FULL_RING', '-d', FIXTURE], checked);
    expect(rotated.stdout).toMatch(/Account\.email\s+20\s+20\s+0\s+0\s+10\s+incomplete/);
    expect(await underNew()).toBe(30);
  });

  it('takes a data source file whose export is a promise, and reports its failure (exit 3)', async () => {
    const file = join(__dirname, 'fixtures', 'async-data-source.js');
    const census = await cli(['census', '--json', '-d', file], env);
    expect(JSON.parse(census.stdout).columns.find((c: { column: string }) => c.column === 'email')).toMatchObject({ total: rows });
    const failed = await cli(['census', '-d', file], { ...env, CLI_KEY_FILE: join(dir, 'no-such-key-file') });
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain('its exported promise failed: SEALED_INVALID_KEY: the key file cannot be read (ENOENT)');
    expect(failed.stderr).not.toContain('no-such-key-file');
  });

  it('takes a Nest module for -d: the DataSource its TypeOrmModule makes, with stdout holding only the report', async () => {
    const viaNest = await cli(['census', '--json', '-d', join(__dirname, 'fixtures', 'nest-module.js')], env);
    const viaFile = await run('census', '--json');
    expect(viaNest.code).toBe(viaFile.code);
    const columns = (out: string) => (JSON.parse(out) as { columns: unknown[] }).columns;
    expect(columns(viaNest.stdout)).toEqual(columns(viaFile.stdout));
    expect(viaNest.stderr).toBe('');
  }, 60_000);

  it('reads --dotenv before loading the data source file; variables already set win; a missing or endless file is exit 3', async () => {
    const { TYPEORM_SEALED_KEYS: keys, ...withoutKeys } = env;
    const file = join(dir, '.env');
    writeFileSync(file, `# keys for the CLI\nTYPEORM_SEALED_KEYS="${keys}"\n`);
    const fromFile = await cli(['census', '--dotenv', file, '-d', FIXTURE], withoutKeys);
    expect(fromFile.stdout).toContain(`* active key ${ring.activeKeyId}`);
    const set = await cli(['census', '--dotenv', file, '-d', FIXTURE], { ...withoutKeys, TYPEORM_SEALED_KEYS: `${oldKey},${newKey}` });
    expect(set.stdout).toContain(`* active key ${oldRing.activeKeyId}`);
    const missing = await cli(['census', '--dotenv', join(dir, newKey.replace(/\//g, '_')), '-d', FIXTURE], env);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('cannot read the file given with --dotenv (ENOENT; the argument is not shown');
    expect(missing.stderr).not.toContain(newKey.replace(/\//g, '_').slice(0, 12));
    const endless = await cli(['census', '--dotenv', '/dev/zero', '-d', FIXTURE], env);
    expect(endless.code).toBe(3);
    expect(endless.stderr).toContain('cannot read the file given with --dotenv (EFBIG;');
  });

  it('exits 2 for an unknown --entity and 3 for an unreachable database, saying which', async () => {
    const unknown = await run('rotate', '--entity', 'Nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'the name given with --entity is no entity (names are not shown, in case one was not a name); entities with encrypted columns: Account, Tag',
    );
    expect(unknown.stderr).not.toContain('Nope');
    const down = await cli(['census', '-d', FIXTURE], { ...env, CLI_DIALECT: 'postgres', CLI_PORT: '1' });
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/cannot connect to the database: .*ECONNREFUSED/);
    expect(down.stderr).not.toContain('run the command again');
  });

  it('decrypt-all --yes writes plaintext that plain SQL reads; --dry-run writes nothing', async () => {
    expect((await run('encrypt-existing')).code).toBe(0);
    const dry = await run('decrypt-all', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run, nothing written');
    expect(await underNew()).toBe(20);
    expect((await run('decrypt-all', '--yes')).code).toBe(0);
    expect(await rawColumn(ds, 'cli_account', 'email')).toEqual([...expected].sort());
  });

  it('exits 4, saying committed batches stay, when the database refuses a write mid-run', async () => {
    expect((await run('encrypt-existing')).code).toBe(0);
    // The database refuses plaintext for one row, far into the table: earlier batches commit first.
    const refuse: Record<typeof dialect, string> = {
      sqlite: `CREATE TRIGGER refuse_a30 BEFORE UPDATE OF email ON cli_account WHEN NEW.login = 'a30' AND NEW.email NOT LIKE 'sealed:%' BEGIN SELECT RAISE(ABORT, 'no'); END`,
      postgres: `ALTER TABLE cli_account ADD CONSTRAINT refuse_a30 CHECK (login <> 'a30' OR email LIKE 'sealed:%') NOT VALID`,
      mariadb: `CREATE TRIGGER refuse_a30 BEFORE UPDATE ON cli_account FOR EACH ROW BEGIN IF NEW.login = 'a30' AND NEW.email NOT LIKE 'sealed:%' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no'; END IF; END`,
    };
    await ds.query(refuse[dialect]);
    try {
      const stopped = await run('decrypt-all', '--yes', '--batch-size', '5', '--entity', 'Account');
      expect(stopped.code).toBe(4);
      expect(stopped.stderr).toContain('decrypt-all stopped: SEALED_WRITE_FAILED: Account.email');
      expect(stopped.stderr).toContain('Rows written before the error are committed and readable');
      expect(stopped.stderr).not.toContain('@example.com');
      expect((await rawColumn(ds, 'cli_account', 'email')).some((v) => String(v).endsWith('@example.com'))).toBe(true);
    } finally {
      await ds.query(dialect === 'postgres' ? 'ALTER TABLE cli_account DROP CONSTRAINT refuse_a30' : 'DROP TRIGGER refuse_a30');
    }
    // Nothing was lost: sealing the values decrypted so far brings every row back.
    expect((await run('encrypt-existing')).code).toBe(0);
    expect(await emails()).toEqual(expected);
  });

  it('exit codes mean what the runbook says, for every command', async () => {
    // 1: a dry run that a real run would not finish (plaintext is not under any key), and verify finding plaintext.
    const dry = await run('rotate', '--dry-run', '--entity', 'Account');
    expect(dry.code).toBe(1);
    expect(dry.stdout).toMatch(/Account\.email\s+20\s+20\s+0\s+0\s+10\s+incomplete/);
    expect(dry.stdout).toContain('would remain');
    expect((await run('verify')).code).toBe(1);
    expect((await run('encrypt-existing', '--dry-run')).code).toBe(0); // a real run would seal everything
    expect((await run('encrypt-existing')).code).toBe(0);
    expect((await run('rotate', '--dry-run')).code).toBe(0);
    expect((await run('rotate')).code).toBe(0);
    expect((await run('verify')).code).toBe(0);
    expect((await run('census')).code).toBe(0);
    // 3: nothing to walk, or tables missing: nothing is read or written.
    const none = await cli(['census', '-d', FIXTURE], { ...env, CLI_NO_ENTITIES: '1' });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('no @Encrypted column');
    const elsewhere = dialect === 'sqlite' ? { CLI_SQLITE_FILE: join(dir, 'empty.sqlite') } : { CLI_DATABASE: 'test' };
    const missing = await cli(['rotate', '-d', FIXTURE], { ...env, ...elsewhere });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/SEALED_CONFIG: .*the database has no column email in table cli_account: run the migrations first/);
    // 4: stopped by an unexpected error midway; the message keeps no quoted value.
    const failed = await cli(['verify', '-d', FIXTURE], { ...env, CLI_FAIL: '1' });
    expect(failed.code).toBe(4);
    expect(failed.stderr).toContain('verify stopped: the connection to the server was lost (simulated)');
  }, 120_000);

  it('prints stored primary keys with control characters escaped', async () => {
    const hostile = 'x\u001b[2J\u001b[H\r\n[ok] all values verified\u009b';
    const label = sealFor(ring, 'cli_tag', 'label', 'string', 'a label');
    await ds
      .createQueryBuilder()
      .insert()
      .into(Tag)
      .values({ name: hostile, label: label.slice(0, -4) })
      .callListeners(false)
      .execute();
    const verify = await run('verify', '--continue-on-error', '--entity', 'Tag');
    expect(verify.code).toBe(1);
    expect(verify.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(verify.stdout).toContain('\n    name=x\\x1b[2J\\x1b[H\\r\\n[ok] all values verified\\x9b\n');
    const json = await run('verify', '--continue-on-error', '--entity', 'Tag', '--json');
    expect(json.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(JSON.parse(json.stdout).failures[0].primaryKey).toBe('name=x\\x1b[2J\\x1b[H\\r\\n[ok] all values verified\\x9b');
  }, 120_000);

  it('groups failures, with a count and sample rows, and --max-failures raises the limit', async () => {
    const bad = Array.from({ length: 30 }, (_, i) => ({
      login: `bad${i}`,
      email: sealFor(ring, 'cli_account', 'email', 'string', `bad${i}@example.com`),
      score: 'not a number',
    }));
    await ds
      .createQueryBuilder()
      .insert()
      .into(Account)
      .values(bad as never[])
      .callListeners(false)
      .execute();
    const limited = await run('encrypt-existing', '--dry-run', '--continue-on-error', '--max-failures', '10');
    expect(limited.code).toBe(1);
    expect(limited.stdout).toContain(
      [
        '  Account.score SEALED_PLAINTEXT: 10 rows: legacy value is not a number (expected number)',
        ...[41, 42, 43, 44, 45].map((id) => `    id=${id}`),
        '    ... and 5 more',
      ].join('\n'),
    );
    expect(limited.stdout).toMatch(/Account\.score\s+10\s+0\s+0\s+10\s+\d+\s+stopped/);
    // The columns after the stop are listed, and say why they were not walked.
    expect(limited.stdout).toMatch(/Tag\.label\s+0\s+0\s+0\s+0\s+\d+\s+not-walked/);
    expect(limited.stdout).toContain('Tag.label: not walked: the walk stopped at an earlier column');
    const all = await run('encrypt-existing', '--dry-run', '--continue-on-error', '--max-failures', '5000', '--json');
    const report = JSON.parse(all.stdout);
    expect(report.failureGroups).toEqual([expect.objectContaining({ column: 'score', code: 'SEALED_PLAINTEXT', count: 30 })]);
    expect(report.failures).toHaveLength(30);
  }, 120_000);

  it('a rotation killed with SIGKILL midway finishes on the next run, losing and double-sealing nothing', async () => {
    const many = 600;
    await ds.getRepository(Account).clear();
    const values = Array.from({ length: many }, (_, i) => ({
      login: `k${i}`,
      email: sealFor(oldRing, 'cli_account', 'email', 'string', `k${i}@example.com`),
      score: null,
    }));
    for (let i = 0; i < many; i += 200)
      await ds
        .createQueryBuilder()
        .insert()
        .into(Account)
        .values(values.slice(i, i + 200))
        .callListeners(false)
        .execute();

    const child = spawn(process.execPath, [BIN, 'rotate', '-d', FIXTURE, '--batch-size', '10'], {
      env: { ...process.env, ...env, CLI_SLOW: '3' },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await waitFor(async () => (await underNew()) >= 50, 30_000);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const midway = await underNew();
    expect(midway).toBeGreaterThanOrEqual(50);
    expect(midway).toBeLessThan(many);

    const resumed = await run('rotate');
    expect(resumed.code).toBe(0);
    expect(await underNew()).toBe(many);
    expect(await emails()).toEqual(Array.from({ length: many }, (_, i) => `k${i}@example.com`));
  }, 60_000);
});

describe.each(testDialects())('typeorm-sealed and blind indexes on %s', (dialect) => {
  let dir: string;
  let ds: DataSource;
  let env: NodeJS.ProcessEnv;
  const indexKey = generateKey();
  const indexRing = new KeyRing({ active: indexKey });
  const rows = 20;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealed-cli-index-'));
    ds = await openDataSource(dialect, [Account, Tag, Member], [sealedSubscriber({ keys: ring, indexKeys: indexRing })], join(dir, 'db.sqlite'));
    env = {
      CLI_DIALECT: dialect,
      CLI_SQLITE_FILE: join(dir, 'db.sqlite'),
      CLI_DATABASE: WORKER_DATABASE,
      TYPEORM_SEALED_KEYS: `${newKey},${oldKey}`,
      TYPEORM_SEALED_INDEX_KEYS: indexKey,
    };
    await ds.getRepository(Member).save(Array.from({ length: rows }, (_, i) => ({ email: `m${i}@example.com` })));
    // written before the index existed
    await ds.query(`UPDATE ${ds.driver.escape('cli_member')} SET ${ds.driver.escape('emailBlindIndex')} = NULL`);
  });
  afterEach(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]) => cli([...args, '-d', FIXTURE], env);

  it('census shows what each index holds and reveals; reindex fills it; verify checks it', async () => {
    const before = await run('census');
    expect(before.code).toBe(1); // index values missing
    expect(before.stdout).toMatch(new RegExp(`Member\\.email\\s+${rows}\\s+${rows}\\s+0\\s+0\\s+0 \\(0\\.0%\\)`));
    expect(before.stdout).toContain(`* active index key ${indexRing.activeKeyId}`);
    expect(before.stdout).toContain(`Member.email (index emailBlindIndex): ${rows} rows have a value but no index value`);

    const reindex = await run('reindex', '--batch-size', '6');
    expect(reindex.code).toBe(0);
    expect(reindex.stdout).toMatch(new RegExp(`Member\\.email \\(blind index\\)\\s+${rows}\\s+${rows}\\s+0\\s+0\\s+0\\s+complete`));
    const census = JSON.parse((await run('census', '--json')).stdout);
    expect(census.indexes).toEqual([
      expect.objectContaining({ entity: 'Member', column: 'email', values: rows, missing: 0, distinct: rows, largestBucket: 1 }),
    ]);
    expect((await run('census')).code).toBe(0);
    expect((await run('verify')).code).toBe(0);

    const [id] = (await ds.getRepository(Member).find({ order: { id: 'ASC' } })).map((m) => m.id);
    await rawUpdate(ds, 'cli_member', 'emailBlindIndex', `${indexRing.activeKeyId}:${'0'.repeat(32)}`, { column: 'id', value: id });
    const verify = await run('verify', '--continue-on-error');
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`Member.email (blind index) SEALED_INDEX_MISMATCH: 1 row:`);
    expect(verify.stdout).toContain(`  id=${id}`);
    expect((await run('reindex')).stdout).toMatch(/Member\.email \(blind index\)\s+0\s+0\s/); // under the active key: not revisited
    const recomputed = await run('reindex', '--recompute');
    expect(recomputed.code).toBe(0);
    expect(recomputed.stdout).toMatch(new RegExp(`Member\\.email \\(blind index\\)\\s+${rows}\\s+1\\s`));
    expect((await run('verify')).code).toBe(0);
  });

  it('reindex exits 3 when no entity has a blind index, before writing anything', async () => {
    const { TYPEORM_SEALED_INDEX_KEYS: _unused, ...withoutIndexKeys } = env;
    const result = await cli(['reindex', '-d', FIXTURE], withoutIndexKeys);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('no blind index');
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
