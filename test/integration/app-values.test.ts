// What application code hands the library: always plaintext, sealed whatever it looks like, and
// refused before anything is written when it cannot be stored exactly.
import { Column, Entity, PrimaryGeneratedColumn, type DataSource, type Repository } from 'typeorm';
import { Encrypted, generateKey, KeyRing, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects } from './support/dialects';
import { ENTITIES, User } from './support/entities';

/** Two columns bound to the same table and column name (boundTo), with different value types. */
@Entity('shared_binding')
class SharedBinding {
  @PrimaryGeneratedColumn()
  id!: number;

  @Encrypted({ nullable: true, valueType: 'string', boundTo: { column: 'shared' } })
  text!: string | null;

  @Encrypted({ nullable: true, valueType: 'number', boundTo: { column: 'shared' } })
  amount!: number | null;
}

/** A text column, to check the MySQL/MariaDB limit of `text` before writing. */
@Entity('sized_text')
class SizedText {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 16, nullable: true })
  tag!: string | null;

  @Encrypted({ nullable: true, valueType: 'string' })
  small!: string | null;
}

/** MySQL/MariaDB only: `mediumtext` holds what `text` cannot. */
@Entity('medium_text')
class MediumText {
  @PrimaryGeneratedColumn()
  id!: number;

  @Encrypted({ type: 'mediumtext', valueType: 'string' })
  large!: string;
}

const keys = new KeyRing({ active: generateKey() });
const ENVELOPE = /^sealed:1:x:[0-9a-f]{8}:[A-Za-z0-9_-]+$/;

describe.each(testDialects())('values from application code on %s', (dialect) => {
  let ds: DataSource;
  let users: Repository<User>;

  beforeAll(async () => {
    ds = await openDataSource(dialect, [...ENTITIES, SharedBinding, SizedText, ...(dialect === 'mariadb' ? [MediumText] : [])], [sealedSubscriber({ keys })]);
    users = ds.getRepository(User);
  }, 60_000);
  afterAll(() => ds?.destroy());

  const stored = async (login: string, column = 'email') => (await rawColumn(ds, 'sealed_user', column, { column: 'login', value: login }))[0] as string;
  const count = async () => Number((await ds.query(`SELECT COUNT(*) AS n FROM ${ds.driver.escape('sealed_user')}`))[0].n);

  it('seals a copied envelope as the plaintext string it is: no decryption oracle on any write path', async () => {
    await users.save(users.create({ login: 'victim', email: 'victim@corp.example' }));
    const victim = await stored('victim');
    const writes: [string, () => Promise<unknown>][] = [
      ['save', () => users.save(users.create({ login: 'o-save', email: victim }))],
      ['insert', () => users.insert({ login: 'o-insert', email: victim })],
      ['qb-insert', () => ds.createQueryBuilder().insert().into(User).values({ login: 'o-qb-insert', email: victim }).execute()],
      ['upsert', () => users.upsert({ login: 'o-upsert', email: victim }, ['login'])],
      ['update', async () => (await users.insert({ login: 'o-update', email: 'mine@corp.example' }), users.update({ login: 'o-update' }, { email: victim }))],
      [
        'qb-update',
        async () => (
          await users.insert({ login: 'o-qb-update', email: 'mine@corp.example' }),
          ds.createQueryBuilder().update(User).set({ email: victim }).where('login = :l', { l: 'o-qb-update' }).execute()
        ),
      ],
      [
        'save-loaded',
        async () => {
          await users.insert({ login: 'o-save-loaded', email: 'mine@corp.example' });
          const mine = await users.findOneByOrFail({ login: 'o-save-loaded' });
          mine.email = victim;
          return users.save(mine);
        },
      ],
    ];
    for (const [path, write] of writes) {
      await write();
      const login = `o-${path}`;
      const loaded = await users.findOneByOrFail({ login });
      expect({ path, email: loaded.email }).toEqual({ path, email: victim });
      const mine = await stored(login);
      expect(mine).toMatch(ENVELOPE);
      expect(mine).not.toBe(victim);
    }
    expect((await users.findOneByOrFail({ login: 'victim' })).email).toBe('victim@corp.example');
  }, 60_000);

  it('does not open a loaded field again when TypeORM announces the object twice', async () => {
    await users.save(users.create({ login: 'victim2', email: 'secret@corp.example' }));
    const victim = await stored('victim2');
    await users.save(users.create({ login: 'twice', email: victim }));
    const loaded = await users.findOneByOrFail({ login: 'twice' });
    expect(loaded.email).toBe(victim);
    const subscriber = ds.subscribers.find((s) => 'afterLoad' in s) as { afterLoad(entity: object, event: object): void };
    subscriber.afterLoad(loaded, {
      dataSource: ds,
      connection: ds,
      metadata: ds.getMetadata(User),
      entity: loaded,
      queryRunner: undefined,
      manager: ds.manager,
    });
    expect(loaded.email).toBe(victim);
  }, 60_000);

  it('refuses a value sealed as another type than the column declares (SEALED_TYPE_MISMATCH)', async () => {
    const repo = ds.getRepository(SharedBinding);
    const { id } = await repo.save({ text: 'not a number', amount: 7 });
    const [text] = await rawColumn(ds, 'shared_binding', 'text', { column: 'id', value: id });
    await rawUpdate(ds, 'shared_binding', 'amount', text, { column: 'id', value: id });
    await expect(repo.findOneBy({ id })).rejects.toMatchObject({
      code: 'SEALED_TYPE_MISMATCH',
      entity: 'SharedBinding',
      column: 'amount',
      message: expect.stringContaining("the value was sealed as string but the column's valueType is number"),
    });
  }, 60_000);

  it('refuses JSON it cannot store exactly before anything is written, and leaves the caller plaintext', async () => {
    const circular: Record<string, unknown> = { theme: 'dark' };
    circular.self = circular;
    for (const settings of [circular, { theme: 'dark', size: 10n }, { toJSON: () => undefined }]) {
      const before = await count();
      const user = users.create({ login: 'bad-json', email: 'bad-json@example.com', settings: settings as never });
      await expect(users.save(user)).rejects.toMatchObject({ name: 'SealedError', code: 'SEALED_UNSUPPORTED_VALUE', entity: 'User', column: 'settings' });
      expect(user.email).toBe('bad-json@example.com');
      expect(user.settings).toBe(settings);
      expect(await count()).toBe(before);
    }
    await expect(users.insert({ login: 'surrogate', email: 'a\uD800b' })).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', column: 'email' });
    const lone = { note: 'a\uD800b', ['k\uDC00']: 1 };
    await users.save(users.create({ login: 'json-surrogate', email: 'ok@example.com', settings: lone as never }));
    expect((await users.findOneByOrFail({ login: 'json-surrogate' })).settings).toEqual(lone);
  }, 60_000);

  it('gives the caller back plaintext when a write fails or is refused halfway', async () => {
    await users.insert({ login: 'taken', email: 'taken@example.com' });
    const one = { login: 'taken', email: 'one@example.com', score: 1.5 };
    await expect(users.insert(one)).rejects.toThrow();
    expect(one).toEqual({ login: 'taken', email: 'one@example.com', score: 1.5 });

    const values = [
      { login: 'fresh-qb', email: 'qb@example.com' },
      { login: 'taken', email: 'qb2@example.com' },
    ];
    await expect(ds.createQueryBuilder().insert().into(User).values(values).execute()).rejects.toThrow();
    expect(values).toEqual([
      { login: 'fresh-qb', email: 'qb@example.com' },
      { login: 'taken', email: 'qb2@example.com' },
    ]);

    await users.insert({ login: 'other', email: 'other@example.com' });
    const patch = { login: 'taken', email: 'patched@example.com' };
    await expect(users.update({ login: 'other' }, patch)).rejects.toThrow();
    expect(patch).toEqual({ login: 'taken', email: 'patched@example.com' });

    // Refused at the third field: the first two are put back, and nothing is written.
    const half = users.create({ login: 'half', email: 'half@example.com', score: 'not a number' as never, balance: 5n });
    await expect(users.save(half)).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', column: 'score' });
    expect(half).toMatchObject({ email: 'half@example.com', balance: 5n });
    // Refused in the second object of one insert: the first gets its plaintext back too.
    const pair = [
      { login: 'pair-a', email: 'a@example.com' },
      { login: 'pair-b', email: 42 as never },
    ];
    await expect(users.insert(pair)).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE' });
    expect(pair[0]).toEqual({ login: 'pair-a', email: 'a@example.com' });
    expect(await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: 'pair-a' })).toEqual([]);

    // A retry of the same objects stores them once, sealed.
    one.login = 'one-retry';
    await users.insert(one);
    expect((await users.findOneByOrFail({ login: 'one-retry' })).email).toBe('one@example.com');
  }, 60_000);

  it('refuses, before writing, an envelope longer than a MySQL/MariaDB text type holds', async () => {
    const repo = ds.getRepository(SizedText);
    const big = 'x'.repeat(50_000); // sealed: about 66,750 characters, over TEXT's 65,535 bytes
    if (dialect === 'mariadb') {
      await expect(repo.save({ tag: 'big', small: big })).rejects.toMatchObject({ code: 'SEALED_VALUE_TOO_LONG', entity: 'SizedText', column: 'small' });
      expect(await repo.countBy({ tag: 'big' })).toBe(0);
      const saved = await ds.getRepository(MediumText).save({ large: big });
      expect((await ds.getRepository(MediumText).findOneByOrFail({ id: saved.id })).large).toBe(big);
    } else {
      const saved = await repo.save({ tag: 'big', small: big }); // text is unbounded on PostgreSQL and SQLite
      expect((await repo.findOneByOrFail({ id: saved.id })).small).toBe(big);
    }
  }, 60_000);
});
