// KeyVault: data keys wrapped in sealed_data_keys, on every dialect: first key, a second process,
// rewrapping under a new master key without touching a data row, data key rotation, shredding,
// the command wrapper, and every way the table or the master keys can be wrong.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import {
  commandKeyWrapper,
  generateKey,
  KeyRing,
  KeyRotator,
  KeyVault,
  localKeyWrapper,
  SealedDataKeys,
  SealedError,
  sealedSubscriber,
  type KeyWrapper,
} from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects } from './support/dialects';
import { ENTITIES, User } from './support/entities';

const MASTER_1 = generateKey();
const MASTER_2 = generateKey();
const ring = (...keys: string[]) => KeyRing.fromString(keys.join(','));

const user = (login: string) => ({
  login,
  email: `${login}@example.com`,
  score: null,
  balance: null,
  verified: null,
  birthday: null,
  settings: null,
  avatar: null,
  address: { street: null, city: null },
});

/** Every column of every data row, hashed: what a rewrap must leave exactly as it was. */
async function dataHash(ds: DataSource): Promise<string> {
  const rows = await ds.query(`SELECT * FROM ${ds.driver.escape('sealed_user')} ORDER BY ${ds.driver.escape('id')}`);
  return createHash('sha256')
    .update(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : Buffer.isBuffer(v) ? v.toString('hex') : v)))
    .digest('hex');
}

async function caught(work: () => Promise<unknown>): Promise<SealedError> {
  try {
    await work();
  } catch (e) {
    if (e instanceof SealedError) return e;
    throw e;
  }
  throw new Error('expected a SealedError');
}

/** Node one-liners as the wrap and unwrap programs (a toy wrapping: XOR with a fixed pad; the protocol is what is tested). */
const PAD = 'a5'.repeat(32);
const XOR = `const pad=Buffer.from('${PAD}','hex');const i=require('fs').readFileSync(0,'utf8').trim();`;
const toyWrap = [
  process.execPath,
  '-e',
  `${XOR}const k=Buffer.from(i,'base64');process.stdout.write('toy.'+k.map((b,j)=>b^pad[j]).toString('hex')+'.'+process.env.TYPEORM_SEALED_DATA_KEY_ID)`,
];
const toyUnwrap = [
  process.execPath,
  '-e',
  `${XOR}const [t,h,id]=i.split('.');if(t!=='toy'||id!==process.env.TYPEORM_SEALED_DATA_KEY_ID)process.exit(3);process.stdout.write(Buffer.from(h,'hex').map((b,j)=>b^pad[j]).toString('base64'))`,
];

describe.each(testDialects())('key vault on %s', (dialect) => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'sealed-vault-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A vault and a DataSource using it; the first call of a test drops the schema, later ones ("other processes") keep it. */
  async function open(wrapper: KeyWrapper, fresh: boolean, unwrapWith: KeyWrapper[] = []): Promise<{ ds: DataSource; vault: KeyVault }> {
    const vault = new KeyVault({ wrapper, unwrapWith });
    const ds = await openDataSource(
      dialect,
      [...ENTITIES, SealedDataKeys],
      [sealedSubscriber({ keys: vault })],
      join(dir, 'db.sqlite'),
      fresh ? {} : { dropSchema: false },
    );
    return { ds, vault };
  }

  it('creates the first data key, seals with it, and a second process opens with the same master key', async () => {
    const { ds, vault } = await open(localKeyWrapper(ring(MASTER_1)), true);
    const other = await open(localKeyWrapper(ring(MASTER_1)), false);
    try {
      await expect(ds.getRepository(User).save(user('before'))).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
      // two processes starting at once agree on one first key
      await Promise.all([vault.load(ds), other.vault.load(other.ds)]);
      expect(other.vault.activeKeyId).toBe(vault.activeKeyId);
      const saved = await ds.getRepository(User).save(user('ann'));
      expect((await rawColumn(ds, 'sealed_user', 'email'))[0]).toMatch(new RegExp(`^sealed:1:x:${vault.activeKeyId}:`));
      expect((await other.ds.getRepository(User).findOneByOrFail({ id: saved.id })).email).toBe('ann@example.com');
      const keys = await vault.list();
      expect(keys).toEqual([
        expect.objectContaining({ keyId: vault.activeKeyId, scope: '', generation: 1, state: 'active', wrappedBy: `local:${ring(MASTER_1).activeKeyId}` }),
      ]);
      const wrapped = String((await rawColumn(ds, 'sealed_data_keys', 'wrapped'))[0]);
      expect(wrapped).toMatch(/^wrapped:1:x:[0-9a-f]{8}:[A-Za-z0-9_-]{96}$/);
      expect(JSON.stringify(vault)).not.toContain(wrapped);
    } finally {
      await ds.destroy();
      await other.ds.destroy();
    }
  });

  it('rewraps under a new master key without rewriting any data row', async () => {
    const { ds, vault } = await open(localKeyWrapper(ring(MASTER_1)), true);
    try {
      await vault.load(ds);
      await vault.createKey(); // a second, ready key: both are rewrapped
      await ds.getRepository(User).save([user('a'), user('b'), user('c')]);
      const before = await dataHash(ds);
      const keysBefore = await rawColumn(ds, 'sealed_data_keys', 'wrapped');

      const moved = new KeyVault({ wrapper: localKeyWrapper(ring(MASTER_2, MASTER_1)) });
      await moved.load(ds);
      expect(await moved.rewrap({ dryRun: true })).toMatchObject({ dryRun: true, rewrapped: expect.arrayContaining(vault.keyIds), current: [] });
      expect(await rawColumn(ds, 'sealed_data_keys', 'wrapped')).toEqual(keysBefore);
      const report = await moved.rewrap();
      expect(report).toMatchObject({ wrappedBy: `local:${ring(MASTER_2).activeKeyId}`, rewrapped: expect.arrayContaining(vault.keyIds), failed: [] });
      expect(report.rewrapped).toHaveLength(2);
      expect(await moved.rewrap()).toMatchObject({ rewrapped: [], current: expect.arrayContaining(vault.keyIds) });

      expect(await dataHash(ds)).toBe(before);
      expect(await rawColumn(ds, 'sealed_data_keys', 'wrapped')).not.toEqual(keysBefore);
      // the new master key alone opens everything; the old one alone opens nothing
      const onlyNew = await open(localKeyWrapper(ring(MASTER_2)), false);
      try {
        await onlyNew.vault.load(onlyNew.ds);
        expect((await onlyNew.ds.getRepository(User).find({ order: { id: 'ASC' } })).map((u) => u.email)).toEqual([
          'a@example.com',
          'b@example.com',
          'c@example.com',
        ]);
      } finally {
        await onlyNew.ds.destroy();
      }
      const e = await caught(() => new KeyVault({ wrapper: localKeyWrapper(ring(MASTER_1)) }).load(ds));
      expect(e).toMatchObject({ code: 'SEALED_WRONG_KEY', keyId: ring(MASTER_2).activeKeyId });
      expect(e.message).not.toContain(MASTER_1);
    } finally {
      await ds.destroy();
    }
  });

  it('rotates to a new data key: create (ready), activate, rotate', async () => {
    const { ds, vault } = await open(localKeyWrapper(ring(MASTER_1)), true);
    try {
      await vault.load(ds);
      const first = vault.activeKeyId;
      await ds.getRepository(User).save([user('a'), user('b')]);
      const next = await vault.createKey();
      expect(next).toMatchObject({ state: 'ready', generation: 2 });
      expect(vault.activeKeyId).toBe(first);
      expect(vault.has(next.keyId)).toBe(true);
      expect(await vault.activate(next.keyId)).toMatchObject({ state: 'active', activatedAt: expect.any(String) });
      expect(vault.activeKeyId).toBe(next.keyId);
      expect((await vault.list()).find((k) => k.keyId === first)?.state).toBe('retired');
      const report = await new KeyRotator(ds).rotate();
      expect(report.status).toBe('complete');
      expect(new Set((await rawColumn(ds, 'sealed_user', 'email')).map((v) => String(v).slice(0, 20)))).toEqual(new Set([`sealed:1:x:${next.keyId}:`]));
      await expect(vault.shred(next.keyId)).rejects.toMatchObject({ code: 'SEALED_CONFIG', keyId: next.keyId });
      await expect(vault.activate('zzzz')).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
    } finally {
      await ds.destroy();
    }
  });

  it('shreds a data key: its values fail with SEALED_SHREDDED, the others read, census counts them, rotate leaves them', async () => {
    const { ds, vault } = await open(localKeyWrapper(ring(MASTER_1)), true);
    try {
      await vault.load(ds);
      const doomed = vault.activeKeyId;
      const [gone] = await ds.getRepository(User).save([user('gone')]);
      const next = await vault.createKey({ activate: true });
      const [kept] = await ds.getRepository(User).save([user('kept')]);
      const shredded = await vault.shred(doomed);
      expect(shredded).toMatchObject({ keyId: doomed, state: 'shredded', shreddedAt: expect.any(String) });
      expect(shredded.wrappedBy).toBeUndefined();
      expect(await rawColumn(ds, 'sealed_data_keys', 'wrapped', { column: 'id', value: doomed })).toEqual([null]);

      const e = await caught(() => ds.getRepository(User).findOneByOrFail({ id: gone!.id }));
      expect(e).toMatchObject({ code: 'SEALED_SHREDDED', keyId: doomed, entity: 'User' });
      expect((await ds.getRepository(User).findOneByOrFail({ id: kept!.id })).email).toBe('kept@example.com');

      // another process, started after the shredding, gives the same answer
      const later = await open(localKeyWrapper(ring(MASTER_1)), false);
      try {
        await later.vault.load(later.ds);
        await expect(later.ds.getRepository(User).findOneByOrFail({ id: gone!.id })).rejects.toMatchObject({ code: 'SEALED_SHREDDED' });
      } finally {
        await later.ds.destroy();
      }

      const rotator = new KeyRotator(ds);
      const census = await rotator.census();
      expect(census.columns.find((c) => c.column === 'email')).toMatchObject({ shredded: 1, unknownKeyIds: [], byKeyId: { [doomed]: 1, [next.keyId]: 1 } });
      const rotated = await rotator.rotate();
      expect(rotated.status).toBe('complete');
      expect(rotated.warnings.join('\n')).toMatch(/email: 1 values are under shredded data keys/);
      expect(await rawColumn(ds, 'sealed_user', 'email', { column: 'id', value: gone!.id })).toEqual([
        expect.stringMatching(new RegExp(`^sealed:1:x:${doomed}:`)),
      ]);
      const verified = await new KeyRotator(ds).verify();
      expect(verified).toMatchObject({ status: 'complete', failures: [] });
      expect(verified.warnings.join('\n')).toMatch(/email: 1 values are under shredded data keys/);
    } finally {
      await ds.destroy();
    }
  });

  it('wraps with programs, and moves from the local wrapper to them by rewrapping', async () => {
    const { ds, vault } = await open(localKeyWrapper(ring(MASTER_1)), true);
    try {
      await vault.load(ds);
      await ds.getRepository(User).save(user('a'));
      const before = await dataHash(ds);
      const toy = commandKeyWrapper({ name: 'toy', wrap: toyWrap, unwrap: toyUnwrap });
      const moving = new KeyVault({ wrapper: toy, unwrapWith: [localKeyWrapper(ring(MASTER_1))] });
      await moving.load(ds);
      expect(await moving.rewrap()).toMatchObject({ wrappedBy: 'command:toy', rewrapped: [vault.activeKeyId], failed: [] });
      expect(await dataHash(ds)).toBe(before);
      const created = await moving.createKey({ activate: true });
      expect(created.wrappedBy).toBe('command:toy');

      const onlyToy = await open(toy, false);
      try {
        await onlyToy.vault.load(onlyToy.ds);
        expect(onlyToy.vault.activeKeyId).toBe(created.keyId);
        expect((await onlyToy.ds.getRepository(User).findOneByOrFail({ login: 'a' })).email).toBe('a@example.com');
      } finally {
        await onlyToy.ds.destroy();
      }
      // a program that fails, hangs, or prints something else
      const failing = commandKeyWrapper({ name: 'toy', wrap: toyWrap, unwrap: [process.execPath, '-e', 'process.exit(7)'] });
      await expect(new KeyVault({ wrapper: failing }).load(ds)).rejects.toMatchObject({
        code: 'SEALED_KEY_STORE',
        message: expect.stringContaining('exited with code 7'),
      });
      const hanging = commandKeyWrapper({ name: 'toy', wrap: toyWrap, unwrap: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'], timeoutMs: 500 });
      await expect(new KeyVault({ wrapper: hanging }).load(ds)).rejects.toMatchObject({
        code: 'SEALED_KEY_STORE',
        message: expect.stringContaining('was killed'),
      });
      const liar = commandKeyWrapper({
        name: 'toy',
        wrap: toyWrap,
        unwrap: [process.execPath, '-e', `process.stdout.write(${JSON.stringify(generateKey())})`],
      });
      await expect(new KeyVault({ wrapper: liar }).load(ds)).rejects.toMatchObject({ code: 'SEALED_TAMPERED' });
      // a key wrapped by something no wrapper of the vault unwraps
      await expect(new KeyVault({ wrapper: localKeyWrapper(ring(MASTER_1)) }).load(ds)).rejects.toMatchObject({
        code: 'SEALED_KEY_STORE',
        message: expect.stringContaining('wrapped by command:toy, which no wrapper of this vault unwraps'),
      });
    } finally {
      await ds.destroy();
    }
  });

  it('stores no wrapping its wrapper cannot unwrap, and trusts no wrapped_by label the wrapping contradicts', async () => {
    const { ds, vault } = await open(localKeyWrapper(ring(MASTER_1)), true);
    try {
      await vault.load(ds);
      const before = await rawColumn(ds, 'sealed_data_keys', 'wrapped');
      // wrap and unwrap with different pads: a KMS configured with two keys
      const skewed = commandKeyWrapper({ name: 'toy', wrap: toyWrap.map((a) => a.replace(PAD, 'b6'.repeat(32))), unwrap: toyUnwrap });
      const moving = new KeyVault({ wrapper: skewed, unwrapWith: [localKeyWrapper(ring(MASTER_1))] });
      await moving.load(ds);
      const report = await moving.rewrap();
      expect(report).toMatchObject({ rewrapped: [], failed: [expect.objectContaining({ keyId: vault.activeKeyId, code: 'SEALED_KEY_STORE' })] });
      expect(report.failed[0]!.message).toContain('does not unwrap to the key');
      await expect(moving.createKey()).rejects.toMatchObject({ code: 'SEALED_KEY_STORE' });
      expect(await rawColumn(ds, 'sealed_data_keys', 'wrapped')).toEqual(before);

      // a label rewritten in SQL to claim the new master key: rewrap goes by the wrapping itself
      const newId = ring(MASTER_2).activeKeyId;
      await rawUpdate(ds, 'sealed_data_keys', 'wrapped_by', `local:${newId}`, { column: 'id', value: vault.activeKeyId });
      const both = new KeyVault({ wrapper: localKeyWrapper(ring(MASTER_2, MASTER_1)) });
      await both.load(ds);
      expect(await both.rewrap()).toMatchObject({ rewrapped: [vault.activeKeyId], current: [] });
      expect(String((await rawColumn(ds, 'sealed_data_keys', 'wrapped'))[0])).toMatch(new RegExp(`^wrapped:1:x:${newId}:`));
      // a label naming a master key nobody has, beside a wrapping by a known one: the wrapping decides
      await rawUpdate(ds, 'sealed_data_keys', 'wrapped_by', 'local:deadbeef', { column: 'id', value: vault.activeKeyId });
      await both.load(ds);
      expect(await both.rewrap()).toMatchObject({ rewrapped: [vault.activeKeyId], failed: [] });
      expect((await both.list())[0]!.wrappedBy).toBe(`local:${newId}`);
      // a wrapping that does not unwrap is reported, not counted as current
      await rawUpdate(ds, 'sealed_data_keys', 'wrapped', 'garbage', { column: 'id', value: vault.activeKeyId });
      expect(await both.rewrap()).toMatchObject({ current: [], failed: [expect.objectContaining({ code: 'SEALED_KEY_STORE' })] });
    } finally {
      await ds.destroy();
    }
  });

  it('keeps exactly one active key through concurrent activations and shreds, and refuses shredding twice', async () => {
    const { ds, vault } = await open(localKeyWrapper(ring(MASTER_1)), true);
    const other = await open(localKeyWrapper(ring(MASTER_1)), false);
    try {
      await vault.load(ds);
      await other.vault.load(other.ds);
      for (let round = 0; round < 3; round++) {
        const [k2, k3] = [await vault.createKey(), await vault.createKey()];
        const outcomes = await Promise.allSettled([vault.activate(k2.keyId), other.vault.activate(k3.keyId), other.vault.shred(k2.keyId)]);
        // a loser is refused (SQLite: two DataSources in one process also meet a busy database, SEALED_KEY_STORE)
        for (const o of outcomes) if (o.status === 'rejected') expect(['SEALED_CONFIG', 'SEALED_KEY_STORE']).toContain((o.reason as { code?: string }).code);
        const keys = await vault.list();
        expect(keys.filter((k) => k.state === 'active')).toHaveLength(1);
        expect(keys.filter((k) => k.state === 'shredded').every((k) => k.wrappedBy === undefined)).toBe(true);
        await new KeyVault({ wrapper: localKeyWrapper(ring(MASTER_1)) }).load(ds);
      }
      const retired = (await vault.list()).find((k) => k.state === 'retired' || k.state === 'ready')!;
      await vault.shred(retired.keyId);
      await expect(vault.shred(retired.keyId)).rejects.toMatchObject({ code: 'SEALED_CONFIG', message: expect.stringContaining('shredded already') });
    } finally {
      await ds.destroy();
      await other.ds.destroy();
    }
  });

  it("writes no wrapped key to TypeORM's query log", async () => {
    const logged: string[] = [];
    const logger = {
      logQuery: (q: string, p?: unknown[]) => logged.push(q + JSON.stringify(p ?? [])),
      logQueryError: (_e: unknown, q: string, p?: unknown[]) => logged.push(q + JSON.stringify(p ?? [])),
      logQuerySlow: () => undefined,
      logSchemaBuild: () => undefined,
      logMigration: () => undefined,
      log: () => undefined,
    };
    const vault = new KeyVault({ wrapper: localKeyWrapper(ring(MASTER_1)) });
    const ds = await openDataSource(dialect, [...ENTITIES, SealedDataKeys], [sealedSubscriber({ keys: vault })], join(dir, 'db.sqlite'), {
      logger,
      logging: true,
    });
    try {
      await vault.load(ds);
      await vault.createKey();
      await new KeyVault({ wrapper: localKeyWrapper(ring(MASTER_2, MASTER_1)) }).load(ds).then((v) => v.rewrap());
      expect(logged.some((l) => l.includes('sealed_data_keys'))).toBe(true);
      expect(logged.filter((l) => l.includes('wrapped:1:x:'))).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });

  it('refuses a missing, unregistered or tampered key table, naming the key and never echoing key material', async () => {
    const { ds, vault } = await open(localKeyWrapper(ring(MASTER_1)), true);
    try {
      await vault.load(ds);
      const second = await vault.createKey();
      const [firstId, secondId] = [vault.activeKeyId, second.keyId];
      const wrapped = (await rawColumn(ds, 'sealed_data_keys', 'wrapped', { column: 'id', value: firstId }))[0] as string;
      const load = () => new KeyVault({ wrapper: localKeyWrapper(ring(MASTER_1)) }).load(ds);

      // one character of the wrapped key changed
      const altered = wrapped.slice(0, -2) + (wrapped.at(-2) === 'A' ? 'B' : 'A') + wrapped.at(-1)!;
      await rawUpdate(ds, 'sealed_data_keys', 'wrapped', altered, { column: 'id', value: firstId });
      expect(await caught(load)).toMatchObject({ code: 'SEALED_TAMPERED', keyId: firstId });
      // another row's wrapped key copied in: bound to its id, so it does not unwrap
      const other = (await rawColumn(ds, 'sealed_data_keys', 'wrapped', { column: 'id', value: secondId }))[0];
      await rawUpdate(ds, 'sealed_data_keys', 'wrapped', other, { column: 'id', value: firstId });
      expect(await caught(load)).toMatchObject({ code: 'SEALED_TAMPERED', keyId: firstId });
      // not a wrapping at all, an unknown state
      await rawUpdate(ds, 'sealed_data_keys', 'wrapped', MASTER_2, { column: 'id', value: firstId });
      const garbage = await caught(load);
      expect(garbage).toMatchObject({ code: 'SEALED_KEY_STORE', keyId: firstId });
      expect(garbage.message).not.toContain(MASTER_2);
      await rawUpdate(ds, 'sealed_data_keys', 'wrapped', wrapped, { column: 'id', value: firstId });
      await rawUpdate(ds, 'sealed_data_keys', 'state', MASTER_2.slice(0, 16), { column: 'id', value: firstId });
      const state = await caught(load);
      expect(state).toMatchObject({ code: 'SEALED_KEY_STORE', keyId: firstId });
      expect(state.message).not.toContain(MASTER_2.slice(0, 16));
      await rawUpdate(ds, 'sealed_data_keys', 'state', 'retired', { column: 'id', value: firstId });
      expect(await caught(load)).toMatchObject({ code: 'SEALED_KEY_STORE', message: expect.stringContaining('no active data key') });
      await rawUpdate(ds, 'sealed_data_keys', 'state', 'active', { column: 'id', value: firstId });
      await load();

      await ds.query(`DROP TABLE ${ds.driver.escape('sealed_data_keys')}`);
      expect(await caught(load)).toMatchObject({ code: 'SEALED_KEY_STORE', message: expect.stringContaining('sealed_data_keys cannot be read') });
    } finally {
      await ds.destroy();
    }
    const unregistered = await openDataSource(dialect, ENTITIES, [], join(dir, 'db2.sqlite'));
    try {
      await expect(new KeyVault({ wrapper: localKeyWrapper(ring(MASTER_1)) }).load(unregistered)).rejects.toMatchObject({
        code: 'SEALED_CONFIG',
        message: expect.stringContaining('add SealedDataKeys'),
      });
    } finally {
      await unregistered.destroy();
    }
  });
});

describe('key wrappers', () => {
  it('check their options where they enter', () => {
    expect(() => commandKeyWrapper({ name: 'bad name', wrap: toyWrap, unwrap: toyUnwrap })).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }));
    expect(() => commandKeyWrapper({ name: 'ok', wrap: [], unwrap: toyUnwrap })).toThrow(/wrap needs \[program/);
    expect(() => new KeyVault({} as never)).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }));
    expect(() => localKeyWrapper(MASTER_1 as never)).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }));
  });

  it('the local wrapping opens only with its id, scope and master key', async () => {
    const wrapper = localKeyWrapper(ring(MASTER_1));
    const key = new Uint8Array(32).fill(7);
    const wrapped = await wrapper.wrap(key, { keyId: '01234567', scope: '' });
    expect(Buffer.from(await wrapper.unwrap(wrapped, { keyId: '01234567', scope: '' }))).toEqual(Buffer.from(key));
    await expect(wrapper.unwrap(wrapped, { keyId: '01234568', scope: '' })).rejects.toMatchObject({ code: 'SEALED_TAMPERED' });
    await expect(wrapper.unwrap(wrapped, { keyId: '01234567', scope: 'tenant' })).rejects.toMatchObject({ code: 'SEALED_TAMPERED' });
    await expect(localKeyWrapper(ring(MASTER_2)).unwrap(wrapped, { keyId: '01234567', scope: '' })).rejects.toMatchObject({ code: 'SEALED_WRONG_KEY' });
    expect(wrapper.canUnwrap(wrapper.wrappedBy)).toBe(true);
    expect(localKeyWrapper(ring(MASTER_2)).canUnwrap(wrapper.wrappedBy)).toBe(false);
    expect(localKeyWrapper(ring(MASTER_2, MASTER_1)).canUnwrap(wrapper.wrappedBy)).toBe(true);
  });
});
