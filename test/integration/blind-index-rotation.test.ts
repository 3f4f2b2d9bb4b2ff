import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource, Repository } from 'typeorm';
import { generateKey, KeyRing, KeyRotator, sealedRepository, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects, type Dialect } from './support/dialects';
import { Account, INDEXED_ENTITIES, Tagged } from './support/indexed-entities';

const keys = new KeyRing({ active: generateKey() });
const [indexKeyA, indexKeyB] = [generateKey(), generateKey()];
const ringA = new KeyRing({ active: indexKeyA });
const ringBA = new KeyRing({ active: indexKeyB, decryptOnly: [indexKeyA] });
const ringB = new KeyRing({ active: indexKeyB });

describe.each(testDialects())('blind indexes and the rotator on %s', (dialect: Dialect) => {
  let dir: string;
  let file: string;
  const open = (indexKeys: KeyRing, fresh: boolean, options: { plaintextPassthrough?: boolean } = {}) =>
    openDataSource(dialect, INDEXED_ENTITIES, [sealedSubscriber({ keys, indexKeys, ...options })], file, fresh ? {} : { dropSchema: false });
  const emails = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `user${from + i}@example.com`);
  const save = (ds: DataSource, list: string[]) =>
    ds.getRepository(Account).save(list.map((email, i) => ({ login: `l-${email}-${i}`, email, backupEmail: null, contact: { phone: null } })));
  /** Runs `work` on a DataSource with a fresh schema, and closes it. */
  const withFresh = async (indexKeys: KeyRing, work: (ds: DataSource) => Promise<void>, options: { plaintextPassthrough?: boolean } = {}) => {
    const ds = await open(indexKeys, true, options);
    try {
      await work(ds);
    } finally {
      await ds.destroy();
    }
  };
  const indexValues = async (ds: DataSource) => (await rawColumn(ds, 'sealed_account', 'emailBlindIndex')) as (string | null)[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealed-bidx-'));
    file = join(dir, 'db.sqlite');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reindex fills the index of rows written before it existed, and census counts them', async () => {
    await withFresh(ringA, async (ds) => {
      await save(ds, emails(30));
      await ds.query(`UPDATE ${ds.driver.escape('sealed_account')} SET ${ds.driver.escape('emailBlindIndex')} = NULL`);
      const rotator = new KeyRotator(ds, { batchSize: 7 });
      const before = (await rotator.census()).indexes.find((i) => i.column === 'email')!;
      expect(before).toMatchObject({ entity: 'Account', blindIndex: 'emailBlindIndex', values: 30, missing: 30, distinct: 0, largestBucket: 0 });
      expect((await rotator.census()).warnings.join('\n')).toMatch(/Account\.email \(index emailBlindIndex\): 30 rows have a value but no index value/);
      expect(await sealedRepository(ds.getRepository(Account)).findOneBy({ email: 'user3@example.com' })).toBeNull();

      const dry = await new KeyRotator(ds, { dryRun: true }).reindex();
      expect(dry.columns.find((c) => c.blindIndex === 'emailBlindIndex')).toMatchObject({ rewritten: 30, remaining: 0 });
      expect(await indexValues(ds)).toEqual(Array(30).fill(null));

      const progress: number[] = [];
      const report = await new KeyRotator(ds, { batchSize: 7, onProgress: (p) => progress.push(p.done) }).reindex();
      expect(report.status).toBe('complete');
      expect(report.columns.find((c) => c.blindIndex === 'emailBlindIndex')).toMatchObject({ column: 'email', examined: 30, rewritten: 30, remaining: 0 });
      expect(progress.length).toBeGreaterThanOrEqual(5);
      expect((await sealedRepository(ds.getRepository(Account)).findOneBy({ email: 'USER3@example.com' }))?.email).toBe('user3@example.com');
      const after = (await rotator.census()).indexes.find((i) => i.column === 'email')!;
      expect(after).toMatchObject({ values: 30, missing: 0, distinct: 30, largestBucket: 1, largestBucketShare: 1 / 30, byKeyId: { [ringA.activeKeyId]: 30 } });
      expect((await new KeyRotator(ds).reindex()).columns.every((c) => c.rewritten === 0)).toBe(true);
    });
  });

  it('moves the index to a new index key while the application keeps finding every row', async () => {
    const before = await open(ringA, true);
    await save(before, emails(40));
    await before.destroy();

    // Deployed with the new index key first and the old one after it:
    const ds = await open(ringBA, false);
    try {
      const accounts = sealedRepository(ds.getRepository(Account));
      expect((await accounts.findOneBy({ email: 'user7@example.com' }))?.email).toBe('user7@example.com'); // under the old key
      await save(ds, ['new@example.com']); // written under the new key
      expect((await indexValues(ds)).filter((v) => v?.startsWith(`${ringBA.activeKeyId}:`))).toHaveLength(1);

      const misses: string[] = [];
      let checks = 0;
      const lookups: Promise<void>[] = [];
      const report = await new KeyRotator(ds, {
        batchSize: 6,
        onProgress: () => {
          for (const email of ['user0@example.com', 'user21@example.com', 'user39@example.com', 'new@example.com']) {
            lookups.push(
              accounts.findOneBy({ email }).then((found) => {
                checks++;
                if (found?.email !== email) misses.push(email);
              }),
            );
          }
        },
      }).reindex();
      await Promise.all(lookups);
      expect(report.status).toBe('complete');
      expect(checks).toBeGreaterThan(20);
      expect(misses).toEqual([]);
      const census = await new KeyRotator(ds).census();
      expect(census.activeIndexKeyId).toBe(ringBA.activeKeyId);
      expect(census.indexes.find((i) => i.column === 'email')!.byKeyId).toEqual({ [ringBA.activeKeyId]: 41 });
    } finally {
      await ds.destroy();
    }
    // A rotator still given only the old index key refuses to move values back to it.
    const stale = await open(ringA, false);
    try {
      await expect(new KeyRotator(stale).reindex()).rejects.toMatchObject({ code: 'SEALED_WRONG_KEY', keyId: ringBA.activeKeyId });
    } finally {
      await stale.destroy();
    }
    // The old index key can go.
    const after = await open(ringB, false);
    try {
      expect((await sealedRepository(after.getRepository(Account)).findOneBy({ email: 'user21@example.com' }))?.email).toBe('user21@example.com');
    } finally {
      await after.destroy();
    }
  });

  it('encryptExisting seals legacy plaintext and fills its index', async () => {
    const passthrough = { plaintextPassthrough: true };
    await withFresh(
      ringA,
      async (ds) => {
        await save(ds, ['sealed@example.com']);
        const q = (name: string) => ds.driver.escape(name);
        await ds.query(`INSERT INTO ${q('sealed_account')} (${q('login')}, ${q('email')}) VALUES ('legacy', ${dialect === 'postgres' ? '$1' : '?'})`, [
          'Legacy@Example.com',
        ]);
        const accounts = sealedRepository(ds.getRepository(Account));
        expect(await accounts.findOneBy({ email: 'legacy@example.com' })).toBeNull();
        const report = await new KeyRotator(ds).encryptExisting();
        expect(report.status).toBe('complete');
        expect(report.columns.find((c) => c.column === 'email' && !c.blindIndex)).toMatchObject({ rewritten: 1 });
        expect(report.columns.find((c) => c.blindIndex === 'emailBlindIndex')).toMatchObject({ rewritten: 1, remaining: 0 });
        expect((await accounts.findOneBy({ email: 'legacy@example.com' }))?.login).toBe('legacy');
        expect((await rawColumn(ds, 'sealed_account', 'email', { column: 'login', value: 'legacy' }))[0]).toMatch(/^sealed:/);
      },
      passthrough,
    );
  });

  it('reindex reports rows that would duplicate a unique index value, and fills the others', async () => {
    await withFresh(ringA, async (ds) => {
      await save(ds, ['dup@example.com', 'other@example.com', 'third@example.com']);
      const [first, second] = (await ds.getRepository(Account).find({ order: { id: 'ASC' } })).map((a) => a.id);
      const copied = (await rawColumn(ds, 'sealed_account', 'email', { column: 'id', value: first }))[0];
      await ds.query(`UPDATE ${ds.driver.escape('sealed_account')} SET ${ds.driver.escape('emailBlindIndex')} = NULL`);
      await rawUpdate(ds, 'sealed_account', 'email', copied, { column: 'id', value: second });
      for (const batchSize of [500, 1]) {
        // a dry run finds the duplicate also when its first row is in an earlier batch
        const dry = await new KeyRotator(ds, { dryRun: true, stopOnFailure: false, batchSize }).reindex();
        expect(dry.failures).toEqual([expect.objectContaining({ code: 'SEALED_DUPLICATE', primaryKey: `id=${second}`, blindIndex: 'emailBlindIndex' })]);
      }
      const report = await new KeyRotator(ds, { stopOnFailure: false }).reindex();
      expect(report.status).toBe('failed');
      expect(report.failures).toEqual([
        expect.objectContaining({ code: 'SEALED_DUPLICATE', primaryKey: `id=${second}`, message: expect.stringContaining(`another row (id=${first})`) }),
      ]);
      expect(report.columns[0]).toMatchObject({ rewritten: 2, failed: 1, remaining: 1 });
      expect((await sealedRepository(ds.getRepository(Account)).findBy({ email: 'dup@example.com' })).map((a) => a.id)).toEqual([first]);
    });
  });

  it('lets the application write a row during reindex: its value and index stay as it wrote them', async () => {
    await withFresh(ringA, async (ds) => {
      await save(ds, emails(12));
      await ds.query(`UPDATE ${ds.driver.escape('sealed_account')} SET ${ds.driver.escape('emailBlindIndex')} = NULL`);
      const accounts = ds.getRepository(Account);
      const last = (await accounts.find({ order: { id: 'DESC' }, take: 1 }))[0]!;
      let write: Promise<unknown> | undefined;
      const report = await new KeyRotator(ds, {
        batchSize: 4,
        onProgress: () => {
          // between batches: the application changes a row the walk has not reached
          write ??= accounts.update({ id: last.id }, { email: 'changed@example.com' });
        },
      }).reindex();
      await write;
      expect(report.status).toBe('complete');
      const search = sealedRepository(accounts);
      expect((await search.findOneBy({ email: 'changed@example.com' }))?.id).toBe(last.id);
      expect(await search.findOneBy({ email: last.email! })).toBeNull();
      expect((await new KeyRotator(ds).verify()).status).toBe('complete');
    });
  });

  it('reindex with recompute repairs index values that went stale under the active index key', async () => {
    await withFresh(ringA, async (ds) => {
      const accounts = ds.getRepository(Account);
      await accounts.save(['x', 'y', 'z'].map((n) => ({ login: n, email: null, backupEmail: `${n}@example.com`, contact: { phone: null } })));
      // x's backup index now holds y's value: stale under the active index key (as after an old instance wrote the field)
      const [yIndex] = await rawColumn(ds, 'sealed_account', 'backupEmailBlindIndex', { column: 'login', value: 'y' });
      await rawUpdate(ds, 'sealed_account', 'backupEmailBlindIndex', yIndex, { column: 'login', value: 'x' });
      expect((await new KeyRotator(ds, { stopOnFailure: false }).verify()).failures.map((f) => f.code)).toEqual(['SEALED_INDEX_MISMATCH']);
      expect((await new KeyRotator(ds).reindex()).columns.find((c) => c.blindIndex === 'backupEmailBlindIndex')).toMatchObject({ rewritten: 0 });
      const dry = await new KeyRotator(ds, { dryRun: true }).reindex({ recompute: true });
      expect(dry.columns.find((c) => c.blindIndex === 'backupEmailBlindIndex')).toMatchObject({ examined: 3, rewritten: 1 });
      const report = await new KeyRotator(ds).reindex({ recompute: true });
      expect(report.columns.find((c) => c.blindIndex === 'backupEmailBlindIndex')).toMatchObject({ examined: 3, rewritten: 1, status: 'complete' });
      expect((await new KeyRotator(ds).verify()).status).toBe('complete');
      expect((await sealedRepository(accounts).findOneBy({ backupEmail: 'x@example.com' }))?.login).toBe('x');
    });
  });

  it('verify reports a value that fails to open once, not again for its index', async () => {
    await withFresh(ringA, async (ds) => {
      await save(ds, emails(3));
      const [first] = (await ds.getRepository(Account).find({ order: { id: 'ASC' } })).map((a) => a.id);
      const envelope = (await rawColumn(ds, 'sealed_account', 'email', { column: 'id', value: first }))[0] as string;
      await rawUpdate(ds, 'sealed_account', 'email', envelope.slice(0, 30) + (envelope[30] === 'A' ? 'B' : 'A') + envelope.slice(31), {
        column: 'id',
        value: first,
      });
      const report = await new KeyRotator(ds, { stopOnFailure: false }).verify();
      expect(report.failures).toEqual([expect.objectContaining({ code: 'SEALED_TAMPERED', primaryKey: `id=${first}` })]);
      expect(report.failures[0]).not.toHaveProperty('blindIndex');
    });
  });

  it('verify names rows whose index value does not match their value', async () => {
    await withFresh(ringA, async (ds) => {
      await save(ds, emails(5));
      const [first, second] = (await ds.getRepository(Account).find({ order: { id: 'ASC' } })).map((a) => a.login);
      const stolen = (await rawColumn(ds, 'sealed_account', 'emailBlindIndex', { column: 'login', value: first! }))[0] as string;
      await rawUpdate(ds, 'sealed_account', 'emailBlindIndex', null, { column: 'login', value: first! });
      await rawUpdate(ds, 'sealed_account', 'emailBlindIndex', stolen, { column: 'login', value: second! });
      const report = await new KeyRotator(ds, { stopOnFailure: false }).verify();
      expect(report.status).toBe('failed');
      expect(report.failures).toEqual([
        expect.objectContaining({ code: 'SEALED_INDEX_MISMATCH', entity: 'Account', column: 'email', blindIndex: 'emailBlindIndex', keyId: ringA.activeKeyId }),
      ]);
      expect(report.failures[0]!.message).not.toContain('@example.com');
      expect(report.failures[0]!.message).not.toContain(stolen.slice(9));
    });
  });

  it('verify counts rows without an index value as remaining; census counts index values it cannot read', async () => {
    await withFresh(ringA, async (ds) => {
      await save(ds, emails(6));
      const rows = await ds.getRepository(Account).find({ order: { id: 'ASC' } });
      const lost = new KeyRing({ active: generateKey() }).activeKeyId;
      await rawUpdate(ds, 'sealed_account', 'emailBlindIndex', null, { column: 'id', value: rows[0]!.id });
      await rawUpdate(ds, 'sealed_account', 'emailBlindIndex', '\u001b[2J:00', { column: 'id', value: rows[1]!.id });
      await rawUpdate(ds, 'sealed_account', 'emailBlindIndex', `${lost}:${'0'.repeat(32)}`, { column: 'id', value: rows[2]!.id });
      const verify = await new KeyRotator(ds, { stopOnFailure: false }).verify();
      const index = verify.columns.find((c) => c.blindIndex === 'emailBlindIndex')!;
      expect(index).toMatchObject({ failed: 2, remaining: 3, status: 'failed' });
      expect(verify.failures.map((f) => [f.code, f.message.split(':').at(-2)!.trim()])).toEqual([
        ['SEALED_INDEX_MISMATCH', 'the blind index column holds something that is not an index value'],
        ['SEALED_INDEX_MISMATCH', 'the index value was computed under an index key the index key ring lacks'],
      ]);
      expect(verify.warnings.join('\n')).toContain('Account.email (index emailBlindIndex): 1 rows have a value but no index value');
      const census = (await new KeyRotator(ds).census()).indexes.find((i) => i.column === 'email')!;
      expect(census).toMatchObject({ missing: 1, malformed: 1, unknownKeyIds: [lost], byKeyId: { [ringA.activeKeyId]: 3, [lost]: 1 } });
      await expect(new KeyRotator(ds).reindex()).rejects.toMatchObject({ code: 'SEALED_WRONG_KEY', keyId: lost });
      await rawUpdate(ds, 'sealed_account', 'emailBlindIndex', null, { column: 'id', value: rows[2]!.id }); // a key retired for good
      expect((await new KeyRotator(ds).reindex()).status).toBe('complete');
      expect((await new KeyRotator(ds).verify()).status).toBe('complete');
    });
  });

  it('census reports an index that reveals how often a value occurs', async () => {
    await withFresh(ringA, async (ds) => {
      const tagged = ds.getRepository(Tagged);
      await tagged.save([
        ...Array.from({ length: 40 }, () => tagged.create({ tag: 'common' })),
        ...Array.from({ length: 10 }, (_, i) => tagged.create({ tag: `rare-${i}` })),
      ]);
      const census = await new KeyRotator(ds).census();
      const index = census.indexes.find((i) => i.entity === 'Tagged')!;
      expect(index.values).toBe(50);
      expect(index.largestBucket).toBeGreaterThanOrEqual(40);
      expect(index.largestBucketShare).toBeGreaterThanOrEqual(0.8);
      expect(census.warnings.join('\n')).toMatch(/Tagged\.tag \(index tagBlindIndex\): one index value is shared by 4\d of 50 rows/);
    });
  });

  it('a rotator given keys takes the index keys of the subscriber; without any, reindex refuses before reading', async () => {
    const ds = await open(ringA, true);
    try {
      await save(ds, ['a@example.com']);
      await ds.query(`UPDATE ${ds.driver.escape('sealed_account')} SET ${ds.driver.escape('emailBlindIndex')} = NULL`);
      const report = await new KeyRotator(ds, { keys }).reindex();
      expect(report.columns[0]).toMatchObject({ blindIndex: 'emailBlindIndex', rewritten: 1 });
    } finally {
      await ds.destroy();
    }
    const bare = await openDataSource(dialect, INDEXED_ENTITIES, [], file, { dropSchema: false });
    try {
      await expect(new KeyRotator(bare, { keys }).reindex()).rejects.toMatchObject({
        code: 'SEALED_CONFIG',
        message: expect.stringContaining('no index keys'),
      });
      await expect(new KeyRotator(bare, { keys, indexKeys: ringA }).census()).resolves.toMatchObject({ activeIndexKeyId: ringA.activeKeyId });
    } finally {
      await bare.destroy();
    }
  });
});

describe('reindex needs index keys', () => {
  let ds: DataSource;
  let repo: Repository<Account>;
  beforeAll(async () => {
    ds = await openDataSource('sqlite', INDEXED_ENTITIES, [sealedSubscriber({ keys, indexKeys: ringA })]);
    repo = ds.getRepository(Account);
  });
  afterAll(() => ds?.destroy());

  it('takes the index keys given to the rotator', async () => {
    await repo.save({ login: 'x', email: 'x@example.com', backupEmail: null, contact: { phone: null } });
    const report = await new KeyRotator(ds, { keys, indexKeys: ringBA }).reindex();
    expect(report.columns.find((c) => c.blindIndex === 'emailBlindIndex')).toMatchObject({ rewritten: 1 });
    expect(((await rawColumn(ds, 'sealed_account', 'emailBlindIndex')) as string[])[0]).toMatch(new RegExp(`^${ringBA.activeKeyId}:`));
  });

  it('refuses index keys that share a key with the encryption keys', () => {
    expect(() => new KeyRotator(ds, { keys, indexKeys: keys })).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }) as Error);
  });
});
