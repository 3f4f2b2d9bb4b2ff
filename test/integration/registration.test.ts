// Registration mistakes are refused with SEALED_CONFIG at the first event, and the subscriber
// works whatever the order of the other subscribers.
import { Entity, EventSubscriber, Index, PrimaryGeneratedColumn, Unique, type DataSource, type EntitySubscriberInterface, type InsertEvent } from 'typeorm';
import { Encrypted, generateKey, KeyRing, KeyRotator, sealedSubscriber, openRawRows } from 'typeorm-sealed';
import { openDataSource, rawColumn, testDialects } from './support/dialects';
import { ENTITIES, User } from './support/entities';

const keys = new KeyRing({ active: generateKey() });

@Entity('unique_sealed')
@Unique(['email'])
class UniqueSealed {
  @PrimaryGeneratedColumn()
  id!: number;

  @Encrypted()
  email!: string;
}

@Entity('indexed_sealed')
class IndexedSealed {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index({ unique: true })
  @Encrypted()
  email!: string;
}

/** An application subscriber declared before sealedSubscriber() is called, as in the usual layout. */
const seen: { loaded: string[]; inserted: string[] } = { loaded: [], inserted: [] };
@EventSubscriber()
class AppSubscriber implements EntitySubscriberInterface<User> {
  listenTo() {
    return User;
  }
  afterLoad(entity: User) {
    seen.loaded.push(entity.email);
  }
  beforeInsert(event: InsertEvent<User>) {
    seen.inserted.push(event.entity.email);
    if (event.entity.login?.startsWith('normalise')) event.entity.email = event.entity.email.trim().toLowerCase();
  }
}

/** Changes an encrypted field after an await: too late to be sealed, so the write must fail closed. */
@EventSubscriber()
class LateSubscriber implements EntitySubscriberInterface<User> {
  listenTo() {
    return User;
  }
  async beforeInsert(event: InsertEvent<User>) {
    if (!event.entity.login?.startsWith('late')) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
    event.entity.email = 'changed-after-await@example.com';
  }
}

describe.each(testDialects())('registration on %s', (dialect) => {
  const open = (entities: Function[], subscribers: Function[]) => openDataSource(dialect, entities, subscribers);

  it('refuses a sealed subscriber registered twice, or two rings, at initialize', async () => {
    const one = sealedSubscriber({ keys });
    for (const subscribers of [
      [one, sealedSubscriber({ keys })],
      [one, sealedSubscriber({ keys: new KeyRing({ active: generateKey() }) })],
    ]) {
      // synchronize runs queries during initialize: the first one is refused, and initialize fails.
      await expect(open(ENTITIES, subscribers)).rejects.toMatchObject({
        code: 'SEALED_CONFIG',
        message: expect.stringContaining('2 sealed subscribers are registered on this DataSource'),
      });
    }
  }, 60_000);

  it('refuses a unique constraint or unique index on an encrypted column', async () => {
    await expect(open([UniqueSealed], [sealedSubscriber({ keys })])).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      entity: 'UniqueSealed',
      column: 'email',
      message: expect.stringContaining('would never refuse a duplicate'),
    });
    await expect(open([IndexedSealed], [sealedSubscriber({ keys })])).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      entity: 'IndexedSealed',
      column: 'email',
    });
  }, 60_000);

  it('fails closed on a DataSource without the subscriber while another DataSource has one', async () => {
    const sealed = await open(ENTITIES, [sealedSubscriber({ keys })]);
    let bare: DataSource | undefined;
    try {
      await sealed.getRepository(User).save({ login: 'fine', email: 'fine@example.com' });
      bare = await openDataSource(dialect, ENTITIES, []);
      await expect(bare.getRepository(User).save({ login: 'forgot', email: 'forgot@example.com' })).rejects.toMatchObject({
        code: 'SEALED_CONFIG',
        column: 'email',
      });
      await expect(bare.getRepository(User).insert({ login: 'forgot', email: 'forgot@example.com' })).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
      const q = (name: string) => bare!.driver.escape(name);
      await bare.query(`INSERT INTO ${q('sealed_user')} (${q('login')}, ${q('email')}) VALUES ('raw', 'sealed:1:x:00000000:AAAA')`);
      await expect(bare.getRepository(User).find()).rejects.toMatchObject({ code: 'SEALED_CONFIG', column: 'email' });
      expect(await rawColumn(bare, 'sealed_user', 'login')).toEqual(['raw']);
    } finally {
      await bare?.destroy();
      await sealed.destroy();
    }
  }, 60_000);

  it('lets the application subscribers see plaintext, whatever the registration order', async () => {
    const ds = await open(ENTITIES, [AppSubscriber, LateSubscriber, sealedSubscriber({ keys })]);
    try {
      const repo = ds.getRepository(User);
      seen.loaded.length = seen.inserted.length = 0;
      await repo.save(repo.create({ login: 'order', email: 'order@example.com' }));
      await repo.findOneByOrFail({ login: 'order' });
      expect(seen).toEqual({ inserted: ['order@example.com'], loaded: ['order@example.com'] });

      // A change made by another subscriber's beforeInsert is sealed too.
      await repo.save(repo.create({ login: 'normalise', email: '  Mixed@Example.COM ' }));
      expect((await repo.findOneByOrFail({ login: 'normalise' })).email).toBe('mixed@example.com');
      expect((await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: 'normalise' }))[0]).toMatch(/^sealed:1:x:/);

      // A change made after an await comes after sealing: refused, nothing written, plaintext back.
      const late = repo.create({ login: 'late', email: 'late@example.com' });
      await expect(repo.save(late)).rejects.toMatchObject({ code: 'SEALED_CONFIG', entity: 'User', column: 'email' });
      expect(await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: 'late' })).toEqual([]);
      const lateInsert = { login: 'late-insert', email: 'late@example.com' };
      await expect(repo.insert(lateInsert)).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
      expect(await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: 'late-insert' })).toEqual([]);
    } finally {
      await ds.destroy();
    }
  }, 60_000);

  it('fails closed when TypeORM calls afterLoad without its event', async () => {
    const ds = await open(ENTITIES, [sealedSubscriber({ keys })]);
    try {
      const subscriber = ds.subscribers.find((s) => 'afterLoad' in s) as { afterLoad(entity: object): void };
      expect(() => subscriber.afterLoad({ email: 'sealed:1:x:00000000:AAAA' })).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }));
    } finally {
      await ds.destroy();
    }
  }, 60_000);

  it('works with two copies of the package in one process (a global CLI and the application)', async () => {
    // The second copy: the same source loaded again in an isolated module registry.
    let copy!: typeof import('../../src/index');
    jest.isolateModules(() => {
      copy = jest.requireActual('../../src/index');
    });
    expect(copy.KeyRing).not.toBe(KeyRing);
    const ds = await open(ENTITIES, [sealedSubscriber({ keys })]);
    try {
      await ds.getRepository(User).save({ login: 'copies', email: 'copies@example.com' });
      // The other copy sees this copy's @Encrypted columns and finds its subscriber by brand.
      const census = await new copy.KeyRotator(ds, { entities: [User] }).census();
      expect(census.columns.find((c) => c.column === 'email')).toMatchObject({ byKeyId: { [keys.activeKeyId]: 1 } });
      const rows = await ds.query(`SELECT * FROM ${ds.driver.escape('sealed_user')}`);
      expect(copy.openRawRows(ds, User, rows)[0]!.email).toBe('copies@example.com');
      // A ring of one copy is refused by the other with a clear message.
      expect(() => new copy.KeyRotator(ds, { keys })).toThrow(
        expect.objectContaining({ code: 'SEALED_CONFIG', message: expect.stringContaining('another copy of typeorm-sealed') }),
      );
      expect(openRawRows(ds, User, await ds.query(`SELECT * FROM ${ds.driver.escape('sealed_user')}`))[0]!.email).toBe('copies@example.com');
      expect((await new KeyRotator(ds).verify()).status).toBe('complete');
    } finally {
      await ds.destroy();
    }
  }, 60_000);
});
