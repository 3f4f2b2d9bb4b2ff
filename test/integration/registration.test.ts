// Registration mistakes are refused with SEALED_CONFIG at the first event, and the subscriber
// works whatever the order of the other subscribers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AfterInsert,
  AfterUpdate,
  BeforeInsert,
  Entity,
  In,
  EventSubscriber,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
  type DataSource,
  type EntitySubscriberInterface,
  type InsertEvent,
  type QueryRunner,
  type UpdateEvent,
} from 'typeorm';
import { Encrypted, generateKey, KeyRing, KeyRotator, sealedSubscriber, openRawRows, SealedSubscriberBase } from 'typeorm-sealed';
import type { EntitySealer } from '../../src/typeorm/entity-sealer';
import { openDataSource, rawColumn, testDialects } from './support/dialects';
import { ENTITIES, Note, User } from './support/entities';

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

/** A relation whose foreign key references an encrypted column: it would hold the plaintext. */
@Entity('sealed_order')
class OrderByEmail {
  @PrimaryGeneratedColumn()
  id!: number;

  @ManyToOne(() => User, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'ownerEmail', referencedColumnName: 'email' })
  owner!: User;
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

/**
 * Async handlers: `late*` rows get their email changed after an await (the sealer waits, so the
 * change is sealed); `refused*` rows are refused by an async validation (nothing may be sealed).
 */
@EventSubscriber()
class LateSubscriber implements EntitySubscriberInterface<User> {
  listenTo() {
    return User;
  }
  async beforeInsert(event: InsertEvent<User>) {
    const login = event.entity.login ?? '';
    if (!login.startsWith('late') && !login.startsWith('refused')) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (login.startsWith('refused')) throw new Error('validation failed');
    event.entity.email = 'changed-after-await@example.com';
  }
}

/**
 * Rolls back a nested transaction (a savepoint) on the query runner just before the first INSERT
 * of a save runs, while the rest of that save is still to be written: as another operation
 * failing on the same runner would (concurrent saves in one transaction, SQLite's one shared runner).
 */
const midway: { armed: boolean } = { armed: false };
@EventSubscriber()
class RollbackMidway implements EntitySubscriberInterface {
  async beforeQuery(event: { query: string; queryRunner: QueryRunner }) {
    if (!midway.armed || !/^INSERT INTO .sealed_(user|note)./.test(event.query)) return;
    midway.armed = false;
    await event.queryRunner.rollbackTransaction();
  }
}

/** Changes `unreturned*` rows' email some microtasks after sealing, in a promise it does not return. */
const unreturned = { microtasks: 3 };
@EventSubscriber()
class UnreturnedLateChange implements EntitySubscriberInterface<User> {
  listenTo() {
    return User;
  }
  beforeInsert(event: InsertEvent<User>) {
    this.changeLater(event.entity);
  }
  beforeUpdate(event: UpdateEvent<User>) {
    if (event.entity) this.changeLater(event.entity as User);
  }
  private changeLater(entity: User) {
    if (!entity.login?.startsWith('unreturned')) return;
    const email = entity.email;
    void (async () => {
      for (let i = 0; i < unreturned.microtasks; i++) await null;
      if (entity.login.startsWith('unreturned-date')) entity.birthday = new Date(Date.UTC(1970, 0, 1 + unreturned.microtasks));
      else entity.email = `${email}-late`;
    })();
  }
}

/** A Note handler that, after an await, sets the email of a user saved in the same save(). */
const noteHandler: { user?: User } = {};
@EventSubscriber()
class NoteSetsUserEmail implements EntitySubscriberInterface<Note> {
  listenTo() {
    return Note;
  }
  async beforeInsert() {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (noteHandler.user) noteHandler.user.email = 'set-by-note-handler@example.com';
  }
}

/** An entity whose async @BeforeInsert listener lower-cases the encrypted email after some awaits. */
@Entity('normalized_account')
class NormalizedAccount {
  @PrimaryGeneratedColumn()
  id!: number;

  @Encrypted()
  email!: string;

  @BeforeInsert()
  async normalize() {
    for (let i = 0; i < 4; i++) await null;
    this.email = this.email.toLowerCase();
  }
}

/** An entity whose after-write listener assigns every string field again (as a "trim all" would). */
@Entity('rewritten_account')
class RewrittenAccount {
  @PrimaryGeneratedColumn()
  id!: number;

  @Encrypted()
  email!: string;

  @AfterInsert()
  @AfterUpdate()
  rewriteAll() {
    for (const [key, value] of Object.entries(this)) if (typeof value === 'string') (this as Record<string, unknown>)[key] = value.trim();
  }
}

/** A subscriber whose beforeInsert is a getter-only accessor: it cannot be wrapped, and must not break anything. */
@EventSubscriber()
class GetterOnlyHandler implements EntitySubscriberInterface<User> {
  listenTo() {
    return User;
  }
}
Object.defineProperty(GetterOnlyHandler.prototype, 'beforeInsert', { get: () => () => undefined });

describe.each(testDialects())('registration on %s', (dialect) => {
  const open = (entities: Function[], subscribers: Function[]) => openDataSource(dialect, entities, subscribers);
  /** Runs `work` on a DataSource with the test entities and these subscribers, then destroys it. */
  const withDataSource = async (subscribers: Function[], work: (ds: DataSource) => Promise<void>) => {
    const ds = await open(ENTITIES, subscribers);
    try {
      await work(ds);
    } finally {
      if (ds.isInitialized) await ds.destroy();
    }
  };

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

  it('refuses a relation whose foreign key references an encrypted column', async () => {
    await expect(open([...ENTITIES, OrderByEmail], [sealedSubscriber({ keys })])).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      entity: 'OrderByEmail',
      column: 'owner',
      message: expect.stringContaining('references the encrypted column User.email: the foreign key would hold its plaintext'),
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

      // A change made after an await: the sealer waits for the handler, so it is sealed too.
      await repo.save(repo.create({ login: 'late', email: 'late@example.com' }));
      await repo.insert({ login: 'late-insert', email: 'late@example.com' });
      for (const login of ['late', 'late-insert']) {
        expect((await repo.findOneByOrFail({ login })).email).toBe('changed-after-await@example.com');
        expect((await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: login }))[0]).toMatch(/^sealed:1:x:/);
      }

      // An async validation that rejects: nothing is sealed, the caller's objects keep their plaintext,
      // and a copy of one, saved later, stores that plaintext.
      const refusedInsert = { login: 'refused-insert', email: 'refused@example.com' };
      await expect(repo.insert(refusedInsert)).rejects.toThrow('validation failed');
      const refusedSave = repo.create({ login: 'refused-save', email: 'refused@example.com' });
      await expect(repo.save(refusedSave)).rejects.toThrow('validation failed');
      const refusedQb = { login: 'refused-qb', email: 'refused@example.com' };
      await expect(ds.createQueryBuilder().insert().into(User).values(refusedQb).execute()).rejects.toThrow('validation failed');
      for (const object of [refusedInsert, refusedSave, refusedQb]) expect(object.email).toBe('refused@example.com');
      await repo.insert({ ...refusedInsert, login: 'fixed' });
      expect((await repo.findOneByOrFail({ login: 'fixed' })).email).toBe('refused@example.com');

      // A change made after sealing by code TypeORM does not wait for (a promise a handler did not
      // return) never reaches the database: until the write is done, the field keeps returning its
      // envelope, and the change is what the object holds afterwards. The window is a few
      // microtasks wide, so it is driven by hand here.
      const sealer = (ds.subscribers.find((s) => s instanceof SealedSubscriberBase) as unknown as { sealer: EntitySealer }).sealer;
      const runner = ds.createQueryRunner();
      const detached = { login: 'detached', email: 'detached@example.com' };
      await sealer.queueForWrite(ds.getMetadata(User), detached, runner, false);
      const envelope = detached.email;
      expect(envelope).toMatch(/^sealed:1:x:/);
      detached.email = 'changed-behind-typeorm@example.com';
      expect(detached.email).toBe(envelope);
      expect(JSON.stringify(detached)).toContain(envelope);
      sealer.restore(detached);
      expect(detached).toEqual({ login: 'detached', email: 'changed-behind-typeorm@example.com' });
      expect(Object.getOwnPropertyDescriptor(detached, 'email')).toMatchObject({ writable: true, enumerable: true, configurable: true });
      await runner.release();
    } finally {
      await ds.destroy();
    }
  }, 60_000);

  it('a rollback on the query runner never gives plaintext back to objects a save has yet to write', async () => {
    const ds = await open(ENTITIES, [sealedSubscriber({ keys }), RollbackMidway]);
    const runner = ds.createQueryRunner();
    try {
      await runner.startTransaction();
      await runner.startTransaction(); // a savepoint, rolled back midway through the save below
      const user = ds.getRepository(User).create({ login: 'midway', email: 'midway@example.com' });
      const note = ds.getRepository(Note).create({ body: 'midway note' });
      midway.armed = true;
      await runner.manager.save([user, note]);
      expect(midway.armed).toBe(false);
      await runner.commitTransaction();
      expect([user.email, note.body]).toEqual(['midway@example.com', 'midway note']);
      expect(await rawColumn(ds, 'sealed_user', 'email')).toEqual([expect.stringMatching(/^sealed:1:x:/)]);
      expect(await rawColumn(ds, 'sealed_note', 'body')).toEqual([expect.stringMatching(/^sealed:1:x:/)]);

      // The same events driven by hand, to hit the window between sealing and TypeORM reading the
      // values (a few microtasks on insert() and QueryBuilder paths): a rollback gives plaintext
      // back to the objects whose writes it undid, and leaves envelopes in those yet to be written.
      const subscriber = ds.subscribers.find((s) => s instanceof SealedSubscriberBase)!;
      const sealer = (subscriber as unknown as { sealer: EntitySealer }).sealer;
      const written = { login: 'written', email: 'written@example.com' };
      const pending = { login: 'pending', email: 'pending@example.com' };
      await sealer.queueForWrite(ds.getMetadata(User), written, runner, false);
      subscriber.afterQuery!({ queryRunner: runner, query: 'INSERT ...', parameters: ['written', written.email], success: true } as never);
      await sealer.queueForWrite(ds.getMetadata(User), pending, runner, false);
      subscriber.afterTransactionRollback!({ queryRunner: runner } as never);
      expect(written.email).toBe('written@example.com');
      expect(pending.email).toMatch(/^sealed:1:x:/);
      subscriber.afterInsert!({ entity: pending } as never);
      expect(pending.email).toBe('pending@example.com');
    } finally {
      await runner.release();
      await ds.destroy();
    }
  }, 60_000);

  it('never writes a late change by a promise no one awaits, also while another save runs on the same query runner', async () => {
    const ds = await open(ENTITIES, [sealedSubscriber({ keys }), UnreturnedLateChange]);
    try {
      const repo = ds.getRepository(User);
      let n = 0;
      for (const late of [1, 2, 3, 4, 5]) {
        for (const delay of [0, 1, 2]) {
          unreturned.microtasks = late;
          const changed = repo.create({ login: `unreturned-${++n}`, email: `secret-${n}@example.com` });
          const other = repo.create({ login: `other-${n}`, email: `other-${n}@example.com` });
          const results = await ds
            .transaction((manager) =>
              Promise.allSettled([
                manager.save(changed),
                (async () => {
                  for (let i = 0; i < delay; i++) await null;
                  return manager.save(other);
                })(),
              ]),
            )
            .catch((e: unknown) => [{ status: 'rejected', reason: e }] as PromiseSettledResult<unknown>[]);
          expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
        }
      }
      for (const stored of await rawColumn(ds, 'sealed_user', 'email')) expect(stored).toMatch(/^sealed:1:x:/);
    } finally {
      await ds.destroy();
    }
  }, 60_000);

  it('never writes a late change to any entity of a multi-statement save, nor a late Date; the object holds the change afterwards', () =>
    withDataSource([sealedSubscriber({ keys }), UnreturnedLateChange], async (ds) => {
      const repo = ds.getRepository(User);
      for (const late of [0, 1, 2, 3, 5, 8, 13]) {
        unreturned.microtasks = late;
        await repo.save([
          repo.create({ login: `first-${late}`, email: 'first@example.com' }),
          repo.create({ login: `second-${late}`, email: 'second@example.com' }),
        ]);
        const loaded = await repo.find({ where: { login: In([`first-${late}`, `second-${late}`]) }, order: { id: 'ASC' } });
        for (const user of loaded) user.email = `changed-${late}-${user.login}@example.com`;
        loaded[1]!.login = `unreturned-second-${late}`; // its email changes after sealing, in the second UPDATE
        await repo.save(loaded);
        await new Promise((resolve) => setImmediate(resolve)); // the late change has happened
        expect(loaded[1]!.email).toBe(`changed-${late}-second-${late}@example.com-late`);
        await repo.save(repo.create({ login: `unreturned-date-${late}`, email: 'date@example.com', birthday: new Date(Date.UTC(2000, 0, 1)) }));
        for (const column of ['email', 'birthday']) {
          for (const stored of await rawColumn(ds, 'sealed_user', column)) if (stored !== null) expect(stored).toMatch(/^sealed:1:x:/);
        }
      }
    }));

  it("waits for every handler of a save(), also another entity's handler that sets an encrypted field after an await", () =>
    withDataSource([sealedSubscriber({ keys }), NoteSetsUserEmail], async (ds) => {
      const author = (noteHandler.user = ds.getRepository(User).create({ login: 'author', email: 'author@example.com' }));
      const note = ds.getRepository(Note).create({ body: 'a note' });
      await ds.manager.save([author, note]);
      expect(author.email).toBe('set-by-note-handler@example.com');
      expect((await ds.getRepository(User).findOneByOrFail({ login: 'author' })).email).toBe('set-by-note-handler@example.com');
      expect(await rawColumn(ds, 'sealed_user', 'email')).toEqual([expect.stringMatching(/^sealed:1:x:/)]);
    }));

  it('an after-write listener that assigns the (sealed) field again leaves plaintext, never an envelope sealed twice', async () => {
    const ds = await open([RewrittenAccount], [sealedSubscriber({ keys })]);
    try {
      const repo = ds.getRepository(RewrittenAccount);
      const account = Object.assign(new RewrittenAccount(), { email: 'alice@example.com' });
      await repo.save(account);
      expect(account.email).toBe('alice@example.com');
      account.email = 'alice2@example.com';
      await repo.save(account);
      expect(account.email).toBe('alice2@example.com');
      expect((await repo.findOneByOrFail({ id: account.id })).email).toBe('alice2@example.com');
    } finally {
      await ds.destroy();
    }
  }, 60_000);

  it('seals one operation while another sharing its batch is refused by an async validation', () =>
    withDataSource([sealedSubscriber({ keys }), LateSubscriber], async (ds) => {
      // Inserts started in one turn on one query runner are announced together (one batch).
      const results = await ds.transaction((manager) =>
        Promise.allSettled([
          manager.insert(User, { login: 'refused-shared', email: 'refused-shared@example.com' }),
          manager.insert(User, { login: 'accepted-shared', email: 'accepted-shared@example.com' }),
        ]),
      );
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
      expect(await rawColumn(ds, 'sealed_user', 'email')).toEqual([expect.stringMatching(/^sealed:1:x:/)]);
      expect((await ds.getRepository(User).findOneByOrFail({ login: 'accepted-shared' })).email).toBe('accepted-shared@example.com');
    }));

  it('works with a handler it cannot wrap, and after the DataSource is destroyed and initialized again', () =>
    withDataSource([sealedSubscriber({ keys }), GetterOnlyHandler], async (ds) => {
      const repo = ds.getRepository(User);
      await repo.save(repo.create({ login: 'getter', email: 'getter@example.com' }));
      await ds.destroy();
      await ds.initialize();
      await repo.save(repo.create({ login: 'again', email: 'again@example.com' }));
      // initialize() dropped and re-created the schema (dropSchema, synchronize): only the new row is there.
      expect((await ds.getRepository(User).find()).map((u) => u.email)).toEqual(['again@example.com']);
      expect(await rawColumn(ds, 'sealed_user', 'email')).toEqual([expect.stringMatching(/^sealed:1:x:/)]);
    }));

  it("waits for an async entity listener even when the insert is the DataSource's first event", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sealed-first-event-')), 'db.sqlite');
    await (await openDataSource(dialect, [NormalizedAccount], [sealedSubscriber({ keys })], file)).destroy(); // creates the table
    const ds = await openDataSource(dialect, [NormalizedAccount], [sealedSubscriber({ keys })], file, { synchronize: false, dropSchema: false });
    try {
      await ds.getRepository(NormalizedAccount).insert(Object.assign(new NormalizedAccount(), { email: 'First@Example.COM' }));
      expect((await ds.getRepository(NormalizedAccount).find()).map((a) => a.email)).toEqual(['first@example.com']);
      expect(await rawColumn(ds, 'normalized_account', 'email')).toEqual([expect.stringMatching(/^sealed:1:x:/)]);
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
