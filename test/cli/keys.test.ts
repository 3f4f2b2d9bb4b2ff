// typeorm-sealed keys: a key vault's data keys from the command line, on every dialect: list,
// create, activate, rotate, rewrap under a new master key (no data row rewritten), shred with an
// erasure report; and the refusals.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { generateKey, KeyRing, KeyVault, localKeyWrapper, SealedDataKeys, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, testDialects, WORKER_DATABASE } from '../integration/support/dialects';
import { Account, Tag } from './fixtures/entities';
import { cli } from './run-cli';

const VAULT_FIXTURE = join(__dirname, 'fixtures', 'vault-data-source.js');
const RING_FIXTURE = join(__dirname, 'fixtures', 'data-source.js');
const [master1, master2] = [generateKey(), generateKey()];

describe.each(testDialects())('typeorm-sealed keys on %s', (dialect) => {
  let dir: string;
  let ds: DataSource;
  let vault: KeyVault;
  let env: NodeJS.ProcessEnv;
  const rows = 10;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealed-cli-keys-'));
    vault = new KeyVault({ wrapper: localKeyWrapper(KeyRing.fromString(master1)) });
    ds = await openDataSource(dialect, [Account, Tag, SealedDataKeys], [sealedSubscriber({ keys: vault })], join(dir, 'db.sqlite'));
    await vault.load(ds);
    env = { CLI_DIALECT: dialect, CLI_SQLITE_FILE: join(dir, 'db.sqlite'), CLI_DATABASE: WORKER_DATABASE, TYPEORM_SEALED_MASTER_KEYS: master1 };
    await ds.getRepository(Account).save(Array.from({ length: rows }, (_, i) => ({ login: `a${i}`, email: `a${i}@example.com`, score: null })));
  });
  afterEach(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (...args: string[]) => cli([...args, '-d', VAULT_FIXTURE], env);
  const json = <T>(text: string): T => JSON.parse(text) as T;

  it('lists, creates, activates, rotates and shreds, printing an erasure report', async () => {
    const first = vault.activeKeyId;
    await ds.getRepository(Tag).save({ name: 't', label: 'stays under the first key' });
    const listed = await run('keys', 'list', '--json');
    expect(listed.code).toBe(0);
    expect(json<{ activeKeyId: string; keys: unknown[] }>(listed.stdout)).toEqual({
      activeKeyId: first,
      keys: [expect.objectContaining({ keyId: first, state: 'active', generation: 1 })],
    });

    const created = await run('keys', 'create');
    expect(created).toMatchObject({ code: 0, stdout: expect.stringMatching(/created data key [0-9a-f]{8} \(ready\)\nRestart .* keys activate/) });
    const next = /created data key ([0-9a-f]{8})/.exec(created.stdout)![1]!;
    expect(await run('keys', 'activate', next)).toMatchObject({ code: 0, stdout: expect.stringContaining(`data key ${next} is active`) });
    const table = await run('keys', 'list');
    expect(table.stdout).toMatch(new RegExp(`${first}\\s+\\(default\\)\\s+retired\\s+1`));
    expect(table.stdout).toMatch(new RegExp(`${next}\\s+\\(default\\)\\s+active\\s+2`));

    // before the rotation every value is under the first key: the dry run counts them all
    const preview = await run('keys', 'shred', first, '--dry-run', '--json');
    expect(preview.code).toBe(0);
    expect(json(preview.stdout)).toMatchObject({
      dryRun: true,
      keyIds: [first],
      scope: '',
      values: rows + 1,
      columns: expect.arrayContaining([expect.objectContaining({ entity: 'Account', column: 'email', values: rows })]),
    });
    expect(await run('keys', 'shred', first)).toMatchObject({ code: 2, stderr: expect.stringContaining('--yes') });

    // rotate one entity, then shred: the other entity's value becomes unreadable
    expect((await run('rotate', '--entity', 'Account')).code).toBe(0);
    const shred = await run('keys', 'shred', first, '--yes');
    expect(shred.code).toBe(0);
    expect(shred.stdout).toMatch(
      new RegExp(`Erasure report\\n  data key       ${first}\\n  scope          \\(default\\)\\n  shredded at    \\d{4}-\\d\\d-\\d\\dT`),
    );
    expect(shred.stdout).toMatch(/values made unreadable: 1\n/);
    expect(shred.stdout).toMatch(/Backups of sealed_data_keys still hold this key wrapped/);

    await vault.reload();
    expect((await ds.getRepository(Account).find()).map((a) => a.email).sort()).toEqual(Array.from({ length: rows }, (_, i) => `a${i}@example.com`).sort());
    await expect(ds.getRepository(Tag).find()).rejects.toMatchObject({ code: 'SEALED_SHREDDED', keyId: first });
    const census = await run('census');
    expect(census.stdout).toContain('1 values are under shredded data keys: unreadable for good');
    expect(await run('keys', 'shred', next, '--yes')).toMatchObject({
      code: 3,
      stderr: expect.stringContaining('the active data key of a scope cannot be shredded'),
    });
  });

  it('rewraps under a new master key without rewriting any data row; the old master key alone then opens nothing', async () => {
    const hash = async () =>
      createHash('sha256')
        .update(JSON.stringify(await rawColumn(ds, 'cli_account', 'email')))
        .digest('hex');
    const before = await hash();
    env.TYPEORM_SEALED_MASTER_KEYS = `${master2},${master1}`;
    const dry = await run('keys', 'rewrap', '--dry-run');
    expect(dry).toMatchObject({ code: 0, stdout: expect.stringContaining('1 would be rewrapped, 0 already current') });
    const rewrap = await run('keys', 'rewrap', '--json');
    expect(rewrap.code).toBe(0);
    expect(json(rewrap.stdout)).toMatchObject({ wrappedBy: `local:${KeyRing.fromString(master2).activeKeyId}`, rewrapped: [vault.activeKeyId], failed: [] });
    expect(await hash()).toBe(before);
    env.TYPEORM_SEALED_MASTER_KEYS = master2;
    expect((await run('verify')).code).toBe(0);
    env.TYPEORM_SEALED_MASTER_KEYS = master1;
    const old = await run('keys', 'list');
    expect(old).toMatchObject({ code: 3, stderr: expect.stringContaining('SEALED_WRONG_KEY') });
    expect(old.stderr).not.toContain(master1);
  });

  it('lists and activates keys of a table that does not load, to repair it', async () => {
    const second = await vault.createKey();
    await ds.query(`UPDATE ${ds.driver.escape('sealed_data_keys')} SET ${ds.driver.escape('state')} = 'active'`);
    expect(await run('census')).toMatchObject({ code: 3, stderr: expect.stringContaining('2 active data keys') });
    const listed = await run('keys', 'list');
    expect(listed).toMatchObject({ code: 0, stderr: expect.stringContaining('warning: the key vault does not load') });
    expect(listed.stdout.match(/ active /g)).toHaveLength(2);
    expect(await run('keys', 'activate', second.keyId)).toMatchObject({ code: 0 });
    expect(await run('keys', 'list')).toMatchObject({ code: 0, stderr: '' });
    expect((await run('verify')).code).toBe(0);
  });

  it('refuses wrong command lines (2) and a DataSource without a key vault (3)', async () => {
    expect(await run('keys')).toMatchObject({ code: 2, stderr: expect.stringContaining('keys needs an action') });
    expect(await run('keys', 'bogus')).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown keys action "bogus"') });
    const pasted = await run('keys', 'activate', master1);
    expect(pasted).toMatchObject({ code: 2, stderr: expect.stringContaining('8 lowercase hex characters') });
    expect(pasted.stderr).not.toContain(master1);
    expect(await run('keys', 'activate')).toMatchObject({ code: 2 });
    expect(await run('keys', 'create', '--dry-run')).toMatchObject({ code: 2, stderr: expect.stringContaining('keys create has no --dry-run') });
    expect(await run('keys', 'shred', '--yes')).toMatchObject({ code: 2, stderr: expect.stringContaining('--scope') });
    expect(await run('keys', 'activate', '0badc0de')).toMatchObject({ code: 3, stderr: expect.stringContaining('no data key 0badc0de') });
    const ringOnly = await cli(['keys', 'list', '-d', RING_FIXTURE], { ...env, TYPEORM_SEALED_KEYS: generateKey() });
    expect(ringOnly).toMatchObject({ code: 3, stderr: expect.stringContaining('has a key ring') });
  });
});
