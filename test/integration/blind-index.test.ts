import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Entity, Equal, In, IsNull, Like, Not, PrimaryGeneratedColumn, type DataSource, type Logger, type Repository } from 'typeorm';
import { Encrypted, generateKey, KeyRing, KeyRotator, sealedMatches, sealedRepository, sealedSubscriber, sealedWhere, SealedError } from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects, typeormLine } from './support/dialects';
import { Account, INDEXED_ENTITIES, Tagged } from './support/indexed-entities';

const INDEX_VALUE = /^[0-9a-f]{8}:[0-9a-f]{32}$/;
const key = generateKey();
const keys = new KeyRing({ active: key });
const indexKeys = new KeyRing({ active: generateKey() });

/** Every SQL statement and its parameters, as TypeORM logs them. */
class Recorder implements Logger {
  readonly queries: string[] = [];
  logQuery(query: string, parameters?: unknown[]): void {
    this.queries.push(`${query} ${JSON.stringify(parameters ?? [], (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

describe.each(testDialects())('blind indexes on %s', (dialect) => {
  let ds: DataSource;
  let plain: Repository<Account>;
  let accounts: Repository<Account>;
  const recorder = new Recorder();

  beforeAll(async () => {
    ds = await openDataSource(dialect, INDEXED_ENTITIES, [sealedSubscriber({ keys, indexKeys })], ':memory:', { logger: recorder, logging: true });
    plain = ds.getRepository(Account);
    accounts = sealedRepository(plain);
  });
  afterAll(() => ds?.destroy());
  beforeEach(async () => {
    for (const entity of [Tagged, Account]) await ds.createQueryBuilder().delete().from(entity).execute();
  });

  const phoneColumn = () => ds.getMetadata(Account).findColumnWithPropertyPath('contact.phoneBlindIndex')!.databaseName;
  const storedIndex = async (login: string, column = 'emailBlindIndex') =>
    (await rawColumn(ds, 'sealed_account', column, { column: 'login', value: login }))[0];
  const account = (login: string, email: string | null, extra: Partial<Account> = {}) =>
    plain.create({ login, email, backupEmail: null, contact: { phone: null }, apiToken: null, ...extra });

  it('creates the index column and its unique index with the schema', async () => {
    const table = (await ds.createQueryRunner().getTable('sealed_account'))!;
    const column = table.findColumnByName('emailBlindIndex')!;
    expect(column.isNullable).toBe(true);
    const unique = [...table.indices.filter((i) => i.isUnique).map((i) => i.columnNames), ...table.uniques.map((u) => u.columnNames)];
    expect(unique).toContainEqual(['emailBlindIndex']);
    const indexed = table.indices.map((i) => i.columnNames);
    expect(indexed).toContainEqual(['backupEmailBlindIndex']);
    const phone = ds.getMetadata(Account).findColumnWithPropertyPath('contact.phoneBlindIndex')!;
    expect(indexed).toContainEqual([phone.databaseName]);
  });

  it('save() stores the index value and gives the caller its object back without it', async () => {
    const alice = account('alice', 'Alice@Example.com');
    await plain.save(alice);
    expect(alice).toEqual({ id: alice.id, login: 'alice', email: 'Alice@Example.com', backupEmail: null, contact: { phone: null }, apiToken: null });
    expect(Object.keys(alice)).not.toContain('emailBlindIndex');
    expect(await storedIndex('alice')).toMatch(INDEX_VALUE);
    expect(await storedIndex('alice')).toMatch(new RegExp(`^${indexKeys.activeKeyId}:`));
    expect(await storedIndex('alice', 'backupEmailBlindIndex')).toBeNull();
    expect(await plain.findOneBy({ id: alice.id })).not.toHaveProperty('emailBlindIndex');
  });

  it('finds a row by plaintext, normalised, through find options, and never sends the plaintext', async () => {
    await plain.save([account('alice', 'alice@example.com'), account('bob', 'bob@example.com')]);
    recorder.queries.length = 0;
    const found = await accounts.findOneBy({ email: '  ALICE@example.COM ' });
    expect(found?.login).toBe('alice');
    expect(await accounts.findOneBy({ email: 'carol@example.com' })).toBeNull();
    expect((await accounts.findBy({ email: In(['bob@example.com', 'alice@example.com']) })).map((a) => a.login).sort()).toEqual(['alice', 'bob']);
    expect((await accounts.findBy({ email: Equal('bob@example.com') })).map((a) => a.login)).toEqual(['bob']);
    expect(await accounts.countBy({ email: 'alice@example.com' })).toBe(1);
    expect(await accounts.existsBy({ email: 'bob@example.com' })).toBe(true);
    expect(await accounts.existsBy({ email: 'nobody@example.com' })).toBe(false);
    expect(recorder.queries.join('\n')).not.toMatch(/alice@|bob@|carol@|nobody@/i);
  });

  it('refuses a plain where on an indexed field, naming the way to search it', async () => {
    await expect(plain.findOneBy({ email: 'alice@example.com' })).rejects.toThrow(/sealedRepository\(repository\)\.findOneBy\(\{ email: \.\.\. \}\)/);
    await expect(plain.update({ email: 'alice@example.com' }, { login: 'x' })).rejects.toThrow(
      /Find the rows through its blind index first .*, then update them by primary key/,
    );
    await expect(plain.delete({ email: 'alice@example.com' })).rejects.toThrow(/then delete them by primary key/);
  });

  it('refuses a search of an encrypted field through a relation, at any depth, before any SQL', async () => {
    const tagged = sealedRepository(ds.getRepository(Tagged));
    recorder.queries.length = 0;
    for (const where of [{ owner: { email: 'alice@example.com' } }, { owner: { contact: { phone: '+33 6 12 34' } } }]) {
      await expect(tagged.findBy(where)).rejects.toMatchObject({
        code: 'SEALED_UNSUPPORTED_QUERY',
        message: expect.stringContaining('searching an encrypted field of the related Account is not supported'),
      });
    }
    expect(recorder.queries.join('\n')).not.toMatch(/alice@|\+33/);
    await expect(tagged.findBy({ owner: { login: 'alice' } })).resolves.toEqual([]);
  });

  it('finds a field that is not selected by default, and leaves unselected fields out of the rows', async () => {
    await plain.save([account('token', 'token@example.com', { apiToken: 'tok-123' }), account('other', 'other@example.com', { apiToken: 'tok-456' })]);
    const found = await accounts.findOneBy({ apiToken: 'tok-123' });
    expect(found?.login).toBe('token');
    expect(found).not.toHaveProperty('apiToken');
    expect(await accounts.countBy({ apiToken: 'tok-456' })).toBe(1);
    const narrow = await accounts.findOne({ where: { email: 'token@example.com' }, select: { id: true, login: true } });
    expect(narrow).toEqual({ id: found!.id, login: 'token' });
    const either = await accounts.find({ where: [{ apiToken: 'tok-456' }, { email: 'token@example.com' }], order: { login: 'ASC' } });
    expect(either.map((a) => a.login)).toEqual(['other', 'token']);
    expect(either[0]).not.toHaveProperty('apiToken');
  });

  it('refuses a value of another type with its type named', async () => {
    await expect(accounts.findOneBy({ email: 42 as never })).rejects.toMatchObject({
      code: 'SEALED_UNSUPPORTED_VALUE',
      message: expect.stringContaining('a string'),
    });
  });

  it('keeps IsNull() and other conditions, and searches OR branches exactly', async () => {
    await plain.save([account('alice', 'alice@example.com'), account('bob', null), account('carol', 'carol@example.com')]);
    expect((await accounts.findBy({ email: IsNull() })).map((a) => a.login)).toEqual(['bob']);
    expect((await accounts.findBy({ email: 'alice@example.com', login: 'bob' })).map((a) => a.login)).toEqual([]);
    const either = await accounts.find({ where: [{ email: 'carol@example.com' }, { login: 'bob' }], order: { login: 'DESC' } });
    expect(either.map((a) => a.login)).toEqual(['carol', 'bob']);
    expect(await accounts.count({ where: [{ email: 'carol@example.com' }, { email: 'alice@example.com' }] })).toBe(2);
    // without an indexed field, the repository's own methods answer
    expect(await accounts.existsBy({ login: 'bob' })).toBe(true);
    expect(await accounts.countBy({ login: 'nobody' })).toBe(0);
    expect((await accounts.findAndCount({ where: { login: In(['alice', 'bob']) }, order: { login: 'ASC' }, take: 1 }))[1]).toBe(2);
  });

  it('re-checks the searched field when the options select others, and returns what they select', async () => {
    await plain.save(account('alice', 'alice@example.com'));
    const found = await accounts.findOne({ where: { email: 'alice@example.com' }, select: { id: true, login: true } });
    expect(found).toEqual({ id: expect.any(Number), login: 'alice' });
    if (typeormLine === '0.3') {
      // the string-array form, which only TypeORM 0.3 takes
      const rows = await accounts.find({ where: { email: 'alice@example.com' }, select: ['id', 'login'] as never });
      expect(rows).toEqual([{ id: expect.any(Number), login: 'alice' }]);
    }
  });

  it('searches with a QueryBuilder through sealedWhere and sealedMatches', async () => {
    await plain.save([account('alice', 'alice@example.com'), account('bob', 'bob@example.com')]);
    const where = { email: 'Alice@Example.com' };
    const rows = await plain
      .createQueryBuilder('a')
      .where(sealedWhere(ds, Account, where))
      .getMany();
    expect(rows.filter(sealedMatches(ds, Account, where)).map((a) => a.login)).toEqual(['alice']);
  });

  it('drops a row whose index value was copied from another row (the re-check after decryption)', async () => {
    await plain.save([account('alice', 'alice@example.com'), account('mallory', 'mallory@example.com')]);
    const stolen = await storedIndex('alice');
    await rawUpdate(ds, 'sealed_account', 'emailBlindIndex', null, { column: 'login', value: 'alice' });
    await rawUpdate(ds, 'sealed_account', 'emailBlindIndex', stolen, { column: 'login', value: 'mallory' });
    expect(await accounts.findOneBy({ email: 'alice@example.com' })).toBeNull();
    const [rows] = await plain
      .createQueryBuilder('a')
      .where(sealedWhere(ds, Account, { email: 'alice@example.com' }))
      .getManyAndCount();
    expect(rows.map((a) => a.login)).toEqual(['mallory']); // a candidate...
    expect(rows.filter(sealedMatches(ds, Account, { email: 'alice@example.com' }))).toEqual([]); // ...that the re-check drops
  });

  it('gives exact rows, pages and counts with a truncated index', async () => {
    const tagged = ds.getRepository(Tagged);
    const values = Array.from({ length: 600 }, (_, i) => ({ tag: `tag-${i % 300}`, rank: i }));
    await tagged.save(values.map((v) => tagged.create(v)));
    // 300 distinct values in 256 buckets: some buckets hold several values
    const stored = (await rawColumn(ds, 'sealed_tagged', 'tagBlindIndex')) as string[];
    expect(new Set(stored).size).toBeLessThan(300);
    const search = sealedRepository(tagged);
    for (const n of [0, 7, 123, 299]) {
      const [rows, total] = await search.findAndCount({ where: { tag: `tag-${n}` }, order: { rank: 'ASC' } });
      expect(rows.map((r) => r.rank)).toEqual([n, n + 300]);
      expect(total).toBe(2);
      expect((await search.find({ where: { tag: `tag-${n}` }, order: { rank: 'ASC' }, skip: 1, take: 1 })).map((r) => r.rank)).toEqual([n + 300]);
      expect(await search.countBy({ tag: `tag-${n}` })).toBe(2);
    }
    // the bucket of tag-0 holds other values too, which the search dropped
    const bucket = stored.filter((v) => v === stored[0]).length;
    expect(bucket).toBeGreaterThanOrEqual(2);
  });

  it('keeps the index right on every write path', async () => {
    const expectIndexOf = async (login: string, email: string | null) => {
      if (email === null) return expect(await storedIndex(login)).toBeNull();
      expect(await storedIndex(login)).toMatch(INDEX_VALUE);
      expect((await accounts.findOneBy({ email }))?.login).toBe(login);
    };
    await plain.insert(account('ins', 'ins@example.com'));
    await expectIndexOf('ins', 'ins@example.com');
    await ds.createQueryBuilder().insert().into(Account).values(account('qbi', 'qbi@example.com')).execute();
    await expectIndexOf('qbi', 'qbi@example.com');

    await plain.update({ login: 'ins' }, { email: 'ins2@example.com' });
    await expectIndexOf('ins', 'ins2@example.com');
    expect(await accounts.findOneBy({ email: 'ins@example.com' })).toBeNull();
    await ds.createQueryBuilder().update(Account).set({ email: 'qbi2@example.com' }).where({ login: 'qbi' }).execute();
    await expectIndexOf('qbi', 'qbi2@example.com');

    const loaded = await plain.findOneByOrFail({ login: 'ins' });
    loaded.email = 'ins3@example.com';
    await plain.save(loaded);
    await expectIndexOf('ins', 'ins3@example.com');
    loaded.login = 'ins'; // save again with the field unchanged: the index stays
    await plain.save(loaded);
    await expectIndexOf('ins', 'ins3@example.com');

    await plain.update({ login: 'ins' }, { email: null });
    await expectIndexOf('ins', null);
  });

  it('upserts with the encrypted field as conflict target, and on another key with a changed field', async () => {
    await plain.save(account('up', 'up@example.com'));
    await plain.upsert(account('up-renamed', ' UP@example.com'), ['email']);
    expect((await plain.find()).map((a) => a.login)).toEqual(['up-renamed']);
    expect((await accounts.findOneBy({ email: 'up@example.com' }))?.email).toBe(' UP@example.com');

    const { id } = await plain.findOneByOrFail({ login: 'up-renamed' });
    await plain.upsert({ login: 'up-renamed', email: 'moved@example.com' }, ['login']);
    expect((await accounts.findOneBy({ email: 'moved@example.com' }))?.id).toBe(id);
    expect(await accounts.findOneBy({ email: 'up@example.com' })).toBeNull();
  });

  it('makes the database refuse a duplicate after normalisation, on every write path', async () => {
    await plain.save(account('first', 'dup@example.com'));
    const attempts: [string, () => Promise<unknown>][] = [
      ['save', () => plain.save(account('s', 'DUP@example.com '))],
      ['insert', () => plain.insert(account('i', 'dup@example.com'))],
      ['query builder', () => ds.createQueryBuilder().insert().into(Account).values(account('q', 'Dup@Example.com')).execute()],
      ['update', async () => (await plain.save(account('u', 'other@example.com')), plain.update({ login: 'u' }, { email: 'dup@EXAMPLE.com' }))],
    ];
    for (const [, attempt] of attempts) await expect(attempt()).rejects.toThrow();
    expect(await plain.countBy({ login: In(['s', 'i', 'q']) })).toBe(0);
    expect((await accounts.findOneBy({ email: 'other@example.com' }))?.login).toBe('u');
  });

  it('computes different index values for equal values in two columns', async () => {
    await plain.save(account('twice', 'same@example.com', { backupEmail: 'same@example.com' }));
    const [a, b] = [await storedIndex('twice'), await storedIndex('twice', 'backupEmailBlindIndex')];
    expect(a).toMatch(INDEX_VALUE);
    expect(b).toMatch(INDEX_VALUE);
    expect(a).not.toBe(b);
    expect((await accounts.findOneBy({ backupEmail: 'same@example.com' }))?.login).toBe('twice');
  });

  it('searches an embedded field', async () => {
    await plain.save(account('phone', null, { contact: { phone: ' +33 1 23 ' } }));
    expect((await accounts.findOneBy({ contact: { phone: '+33 1 23' } }))?.login).toBe('phone');
  });

  it('writes only index values it computed, whatever the object holds', async () => {
    await plain.save(account('victim', 'victim@example.com'));
    const stolen = await storedIndex('victim');
    const forged = Object.assign(account('forger', null), { emailBlindIndex: stolen });
    await plain.save(forged);
    expect(await storedIndex('forger')).toBeNull();
    expect((forged as unknown as Record<string, unknown>).emailBlindIndex).toBe(stolen); // the caller's object is left as it was
    await plain.update({ login: 'forger' }, { login: 'forger2', emailBlindIndex: stolen } as never);
    expect(await storedIndex('forger2')).toBeNull();
    // inside an embedded object too: ignored, not written as NULL over the real index value
    await plain.save(account('embedded', null, { contact: { phone: '555' } }));
    const phoneIndex = await storedIndex('embedded', phoneColumn());
    expect(phoneIndex).toMatch(INDEX_VALUE);
    await plain.update({ login: 'embedded' }, { login: 'embedded2', contact: { phoneBlindIndex: stolen } } as never);
    await ds
      .createQueryBuilder()
      .update(Account)
      .set({ login: 'embedded3', contact: { phoneBlindIndex: stolen } } as never)
      .where({ login: 'embedded2' })
      .execute();
    expect(await storedIndex('embedded3', phoneColumn())).toBe(phoneIndex);
    expect((await accounts.findOneBy({ contact: { phone: '555' } }))?.login).toBe('embedded3');
  });

  it('throws EntityNotFoundError without the searched plaintext', async () => {
    const error = await accounts.findOneByOrFail({ email: 'secret-person@example.com' }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('EntityNotFoundError');
    expect(String((error as Error).message)).not.toContain('secret-person');
  });

  it('refuses, before any SQL, a search on an encrypted field without an index and operators other than equality', async () => {
    const tagged = sealedRepository(ds.getRepository(Tagged));
    await plain.save([account('null', null), account('set', 'set@example.com')]);
    await expect(accounts.findBy({ email: IsNull(), login: 'x' })).resolves.toEqual([]);
    expect((await accounts.findBy({ email: Not(IsNull()) })).map((a) => a.login)).toEqual(['set']);
    await expect(accounts.findBy({ email: In([]) })).resolves.toEqual([]);
    recorder.queries.length = 0;
    await expect(accounts.findBy({ email: Like('set%') })).rejects.toMatchObject({
      code: 'SEALED_UNSUPPORTED_QUERY',
      message: expect.stringContaining('not by like'),
    });
    await expect(tagged.findBy({ note: 'secret note' })).rejects.toMatchObject({
      code: 'SEALED_UNSUPPORTED_QUERY',
      column: 'note',
      message: expect.stringContaining('has no blind index'),
    });
    expect(recorder.queries).toEqual([]);
  });

  it('refuses, before any SQL, update, delete and aggregates with an encrypted field in their criteria', async () => {
    await plain.save(account('crit', 'crit@example.com'));
    recorder.queries.length = 0;
    const attempts = [
      () => accounts.update({ email: 'crit@example.com' }, { login: 'x' }),
      () => accounts.delete({ email: 'crit@example.com' }),
      () => accounts.sum('id', { email: 'crit@example.com' }),
      () => accounts.delete({ contact: { phone: '+33' } }),
    ];
    for (const attempt of attempts)
      await expect(attempt()).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_QUERY', message: expect.stringContaining('then ') });
    expect(recorder.queries.join('\n')).not.toMatch(/crit@|\+33/);
    await expect(accounts.update({ login: 'crit' }, { email: 'crit2@example.com' })).resolves.toBeDefined();
    expect((await accounts.findOneBy({ email: 'crit2@example.com' }))?.login).toBe('crit');
  });

  it('refuses an encrypted field without a unique index as an upsert conflict target', async () => {
    await expect(plain.upsert(account('u', 'u@example.com', { backupEmail: 'b@example.com' }), ['backupEmail'])).rejects.toMatchObject({
      code: 'SEALED_UNSUPPORTED_QUERY',
      column: 'backupEmail',
    });
  });

  it('searches inside a transaction through manager.withRepository', async () => {
    await ds.transaction(async (manager) => {
      await manager.save(account('tx', 'tx@example.com'));
      const inside = manager.withRepository(accounts);
      expect((await inside.findOneBy({ email: 'tx@example.com' }))?.login).toBe('tx');
      expect((await inside.findOneBy({ login: 'tx' }))?.email).toBe('tx@example.com');
      expect(await inside.countBy({ email: 'tx@example.com' })).toBe(1);
    });
  });

  it('pages as TypeORM reads skip and take, and refuses what it cannot read', async () => {
    await plain.save(['p1', 'p2', 'p3'].map((login) => account(login, null, { contact: { phone: '555' } })));
    const search = (skip: unknown, take: unknown) => accounts.find({ where: { contact: { phone: '555' } }, order: { login: 'ASC' }, skip, take } as never);
    expect((await search(null, null)).map((a) => a.login)).toEqual(['p1', 'p2', 'p3']);
    expect((await search('1', '1')).map((a) => a.login)).toEqual(['p2']);
    for (const [skip, take] of [
      [-1, undefined],
      [undefined, 1.5],
      [undefined, 'all'],
    ]) {
      await expect(search(skip, take)).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_QUERY' });
    }
  });

  it("leaves no index property and no empty embedded object in the caller's or loaded objects", async () => {
    const fresh = plain.create({ login: 'bare', email: 'bare@example.com' });
    await plain.save(fresh);
    expect(Object.keys(fresh).filter((k) => k.endsWith('BlindIndex'))).toEqual([]);
    expect(Object.keys(fresh.contact ?? {})).not.toContain('phoneBlindIndex');
    const loaded = await plain.findOneByOrFail({ login: 'bare' });
    loaded.login = 'bare2';
    await plain.save(loaded);
    expect(Object.keys(loaded).filter((k) => k.endsWith('BlindIndex'))).toEqual([]);
    await plain.save(account('shell', null, { contact: { phone: '777' } }));
    expect(await accounts.findOne({ where: { contact: { phone: '777' } }, select: { id: true, login: true } })).toEqual({
      id: expect.any(Number),
      login: 'shell',
    });
  });

  it('answers an OR search whose select leaves out the primary key', async () => {
    await plain.save([account('a', 'a@example.com'), account('b', 'b@example.com')]);
    const rows = await accounts.find({ where: [{ email: 'a@example.com' }, { login: 'b' }], select: { login: true }, order: { login: 'ASC' } });
    expect(rows).toEqual([{ login: 'a' }, { login: 'b' }]);
  });

  it('keeps index values, and so lookups, through an encryption key rotation', async () => {
    await plain.save(account('rot', 'rot@example.com'));
    const [before, envelope] = [await storedIndex('rot'), await storedIndex('rot', 'email')];
    const rotated = new KeyRing({ active: generateKey(), decryptOnly: [key] });
    expect((await new KeyRotator(ds, { keys: rotated, entities: [Account] }).rotate()).status).toBe('complete');
    expect(await storedIndex('rot', 'email')).not.toBe(envelope); // sealed again under the new key...
    expect(await storedIndex('rot')).toBe(before); // ...with the same index value
    // the candidates of a search (counted in SQL: this DataSource's subscriber lacks the new key)
    expect(await plain.count({ where: sealedWhere(ds, Account, { email: 'rot@example.com' }) })).toBe(1);
  });
});

describe('blind index configuration', () => {
  it('refuses index keys that are also encryption keys', () => {
    expect(() => sealedSubscriber({ keys, indexKeys: keys })).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }) as SealedError);
  });

  it('refuses to write an indexed field when the subscriber has no index keys', async () => {
    const ds = await openDataSource('sqlite', INDEXED_ENTITIES, [sealedSubscriber({ keys })], ':memory:').catch((e: unknown) => e);
    const error =
      ds instanceof Error
        ? ds
        : await (ds as DataSource)
            .getRepository(Account)
            .find()
            .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SEALED_CONFIG', message: expect.stringContaining('indexKeys') });
    if (!(ds instanceof Error)) await (ds as DataSource).destroy();
  });
});

describe.each(testDialects())('blind index migrations on %s', (dialect) => {
  @Entity('sealed_adopting')
  class Before {
    @PrimaryGeneratedColumn() id!: number;
    @Encrypted() email!: string;
  }
  @Entity('sealed_adopting')
  class After {
    @PrimaryGeneratedColumn() id!: number;
    @Encrypted({ index: { unique: true } }) email!: string;
  }

  it('generates the index column and its unique index when a field gains an index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealed-bidx-mig-'));
    const file = join(dir, 'db.sqlite');
    const subscribers = [sealedSubscriber({ keys, indexKeys })];
    try {
      await (await openDataSource(dialect, [Before], subscribers, file)).destroy();
      const ds = await openDataSource(dialect, [After], subscribers, file, { synchronize: false, dropSchema: false });
      try {
        const sql = (await ds.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query).join('\n');
        const quoted = ds.driver.escape('emailBlindIndex');
        expect(sql).toContain(quoted);
        expect(sql).toMatch(new RegExp(`(CREATE|ADD) UNIQUE INDEX[^\\n]*\\(${quoted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
        await ds.synchronize();
        expect((await ds.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
      } finally {
        await ds.destroy();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
