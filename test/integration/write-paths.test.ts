import { In, type DataSource, type Repository } from 'typeorm';
import { generateKey, KeyRing, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, testDialects } from './support/dialects';
import { ENTITIES, User } from './support/entities';

const ENVELOPE = /^sealed:1:x:[0-9a-f]{8}:[A-Za-z0-9_-]+$/;
const keys = new KeyRing({ active: generateKey() });

function sample(login: string): Partial<User> {
  return {
    login,
    email: `${login}@example.com`,
    score: 3.25,
    balance: 12345678901234567890n,
    verified: true,
    birthday: new Date('1990-05-17T10:20:30.456Z'),
    settings: { theme: 'dark', tags: ['a', 'b'] },
    avatar: Buffer.from([0, 1, 2, 250, 255]),
    address: { street: '1 Infinite Loop', city: 'Cupertino' },
  };
}

/** The stored plaintext fragments that must never appear at rest. */
const SECRETS = (login: string) => [`${login}@example.com`, 'Infinite Loop', 'dark'];

describe.each(testDialects())('write paths on %s', (dialect) => {
  let ds: DataSource;
  let users: Repository<User>;

  beforeAll(async () => {
    ds = await openDataSource(dialect, ENTITIES, [sealedSubscriber({ keys })]);
    users = ds.getRepository(User);
  });
  afterAll(() => ds?.destroy());

  async function expectSealedAtRest(login: string): Promise<void> {
    const where = { column: 'login', value: login };
    for (const column of ['email', 'score', 'balance', 'verified', 'birthday', 'settings', 'avatar', 'addressStreet']) {
      const [stored] = await rawColumn(ds, 'sealed_user', column, where);
      expect(stored).toMatch(ENVELOPE);
      for (const secret of SECRETS(login)) expect(stored).not.toContain(secret);
    }
  }

  async function expectReadsBack(login: string, expected: Partial<User> = sample(login)): Promise<User> {
    const loaded = await users.findOneByOrFail({ login });
    expect(loaded).toMatchObject(expected);
    return loaded;
  }

  it('save() of a new entity stores envelopes and leaves the caller plaintext', async () => {
    const user = users.create(sample('save-new'));
    await users.save(user);
    expect(user).toMatchObject(sample('save-new'));
    await expectSealedAtRest('save-new');
    const loaded = await expectReadsBack('save-new');
    expect(typeof loaded.balance).toBe('bigint');
    expect(loaded.birthday).toBeInstanceOf(Date);
    expect(Buffer.isBuffer(loaded.avatar)).toBe(true);
  });

  it('save() twice on the same object does not encrypt twice', async () => {
    const user = users.create(sample('save-twice'));
    await users.save(user);
    user.email = 'changed@example.com';
    await users.save(user);
    await users.save(user);
    expect(user.email).toBe('changed@example.com');
    await expectReadsBack('save-twice', { ...sample('save-twice'), email: 'changed@example.com' });
  });

  it('save() of a loaded entity rewrites only the changed encrypted columns', async () => {
    await users.save(users.create(sample('save-loaded')));
    const where = { column: 'login', value: 'save-loaded' };
    const before = {
      email: await rawColumn(ds, 'sealed_user', 'email', where),
      birthday: await rawColumn(ds, 'sealed_user', 'birthday', where),
      settings: await rawColumn(ds, 'sealed_user', 'settings', where),
    };
    const loaded = await users.findOneByOrFail({ login: 'save-loaded' });
    loaded.score = 99;
    loaded.birthday = new Date(loaded.birthday!.getTime()); // equal value, new object
    await users.save(loaded);
    expect(loaded.score).toBe(99);
    expect(await rawColumn(ds, 'sealed_user', 'email', where)).toEqual(before.email);
    expect(await rawColumn(ds, 'sealed_user', 'birthday', where)).toEqual(before.birthday);
    expect(await rawColumn(ds, 'sealed_user', 'settings', where)).toEqual(before.settings);
    await expectReadsBack('save-loaded', { ...sample('save-loaded'), score: 99 });
  });

  it('save() of a plain object (partial update by primary key)', async () => {
    const { id } = await users.save(users.create(sample('save-plain')));
    const partial = { id, email: 'plain@example.com' };
    await users.save(partial);
    expect(partial.email).toBe('plain@example.com');
    await expectSealedAtRest('save-plain');
    await expectReadsBack('save-plain', { ...sample('save-plain'), email: 'plain@example.com' });
  });

  it('insert() of one object and of an array', async () => {
    const one = sample('insert-one');
    await users.insert(one);
    expect(one).toMatchObject(sample('insert-one'));
    const many = [sample('insert-a'), sample('insert-b')];
    await users.insert(many);
    expect(many[1]).toMatchObject(sample('insert-b'));
    for (const login of ['insert-one', 'insert-a', 'insert-b']) {
      await expectSealedAtRest(login);
      await expectReadsBack(login);
    }
  });

  it('update(criteria, partial) seals the set values', async () => {
    await users.save(users.create(sample('update')));
    const patch = { email: 'updated@example.com', address: { street: 'Updated Street' } };
    await users.update({ login: 'update' }, patch);
    expect(patch).toEqual({ email: 'updated@example.com', address: { street: 'Updated Street' } });
    await expectSealedAtRest('update');
    const [email] = await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: 'update' });
    expect(email).not.toContain('updated@');
    await expectReadsBack('update', { ...sample('update'), email: 'updated@example.com', address: { street: 'Updated Street', city: 'Cupertino' } });
  });

  it('QueryBuilder insert().values() and update().set()', async () => {
    const values = [sample('qb-a'), sample('qb-b')];
    await ds.createQueryBuilder().insert().into(User).values(values).execute();
    expect(values[0]).toMatchObject(sample('qb-a'));
    const set = { email: 'qb@example.com', score: 7 };
    await ds.createQueryBuilder().update(User).set(set).where('login = :login', { login: 'qb-b' }).execute();
    expect(set).toEqual({ email: 'qb@example.com', score: 7 });
    await expectSealedAtRest('qb-a');
    await expectSealedAtRest('qb-b');
    await expectReadsBack('qb-a');
    await expectReadsBack('qb-b', { ...sample('qb-b'), email: 'qb@example.com', score: 7 });
  });

  it('upsert() inserts and then updates through the conflict path', async () => {
    await users.upsert(sample('upsert'), ['login']);
    await expectSealedAtRest('upsert');
    await users.upsert({ ...sample('upsert'), email: 'upserted@example.com' }, ['login']);
    await expectSealedAtRest('upsert');
    await expectReadsBack('upsert', { ...sample('upsert'), email: 'upserted@example.com' });
  });

  it('keeps NULL as NULL and seals empty string, 0 and false', async () => {
    await users.save(
      users.create({
        login: 'edge',
        email: '',
        score: 0,
        balance: 0n,
        verified: false,
        birthday: null,
        settings: null,
        avatar: Buffer.alloc(0),
        address: { street: null, city: null },
      }),
    );
    const where = { column: 'login', value: 'edge' };
    for (const column of ['email', 'score', 'balance', 'verified', 'avatar']) {
      expect((await rawColumn(ds, 'sealed_user', column, where))[0]).toMatch(ENVELOPE);
    }
    for (const column of ['birthday', 'settings', 'addressStreet']) {
      expect((await rawColumn(ds, 'sealed_user', column, where))[0]).toBeNull();
    }
    const loaded = await users.findOneByOrFail({ login: 'edge' });
    expect(loaded).toMatchObject({ email: '', score: 0, balance: 0n, verified: false, birthday: null, settings: null, address: { street: null } });
    expect(loaded.avatar).toEqual(Buffer.alloc(0));
  });

  it('a failed save leaves the caller plaintext, and a retry stores it once', async () => {
    await users.save(users.create(sample('taken')));
    const clash = users.create({ ...sample('taken'), email: 'clash@example.com' });
    await expect(users.save(clash)).rejects.toThrow();
    expect(clash.email).toBe('clash@example.com');
    clash.login = 'not-taken';
    await users.save(clash);
    await expectReadsBack('not-taken', { ...sample('not-taken'), email: 'clash@example.com' });
  });

  it('refuses two entities that share one embedded object in one write, writing nothing and giving plaintext back', async () => {
    const address = { street: 'Shared Street 1', city: 'Springfield' };
    const [a, b] = [users.create(sample('share-a')), users.create(sample('share-b'))];
    a.address = b.address = address;
    await expect(users.save([a, b])).rejects.toMatchObject({
      name: 'SealedError',
      code: 'SEALED_CONFIG',
      entity: 'User',
      column: 'address.street',
      message: expect.stringContaining('share one embedded object'),
    });
    expect(address.street).toBe('Shared Street 1');
    expect([a.email, b.email]).toEqual(['share-a@example.com', 'share-b@example.com']);
    expect(await users.countBy({ login: In(['share-a', 'share-b']) })).toBe(0);
  });

  it('two concurrent updates sharing one embedded object (one connection each) never store an envelope as a value', async () => {
    const [a, b] = await users.save([users.create(sample('shared-update-a')), users.create(sample('shared-update-b'))]);
    const shared = { street: 'Concurrent Street 9', city: 'Springfield' };
    const results = await Promise.allSettled([users.update(a!.id, { address: shared }), users.update(b!.id, { address: shared })]);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'SEALED_CONFIG', column: 'address.street' });
    expect(shared.street).toBe('Concurrent Street 9');
    for (const [i, user] of [a!, b!].entries()) {
      const street = (await users.findOneByOrFail({ id: user.id })).address.street;
      expect(street).toBe(results[i]!.status === 'fulfilled' ? 'Concurrent Street 9' : '1 Infinite Loop');
    }
  });

  it('refuses a frozen or getter-only object with a typed error instead of writing its plaintext', async () => {
    await users.save(users.create(sample('frozen')));
    const frozen = Object.freeze({ email: 'frozen-new@example.com' });
    await expect(users.update({ login: 'frozen' }, frozen)).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', entity: 'User', column: 'email' });
    const getterOnly = Object.defineProperty({}, 'email', { get: () => 'getter@example.com', enumerable: true });
    await expect(users.update({ login: 'frozen' }, getterOnly)).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', column: 'email' });
    await expectReadsBack('frozen');
    await expectSealedAtRest('frozen');
  });

  it('refuses a Proxy that does not read back what was put into it, and an inherited getter without setter', async () => {
    await users.save(users.create(sample('proxied')));
    const backing = new Map<string, unknown>([['email', 'proxied-new@example.com']]);
    const readsElsewhere = new Proxy({} as Record<string, unknown>, {
      get: (_target, name) => backing.get(String(name)),
      ownKeys: () => ['email'],
      getOwnPropertyDescriptor: () => ({ configurable: true, enumerable: true, writable: true, value: backing.get('email') }),
    });
    await expect(users.update({ login: 'proxied' }, readsElsewhere)).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', column: 'email' });
    const getterOnly = Object.create(
      Object.defineProperty({}, 'email', { get: () => 'inherited@example.com', enumerable: true, configurable: true }),
    ) as Record<string, unknown>;
    await expect(users.update({ login: 'proxied' }, getterOnly)).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', column: 'email' });
    await expectReadsBack('proxied');
    await expectSealedAtRest('proxied');
  });

  it('ends with a plain property holding plaintext after save() of a loaded entity whose only change is an equal Date', async () => {
    await users.save(users.create(sample('equal-date')));
    const loaded = await users.findOneByOrFail({ login: 'equal-date' });
    loaded.birthday = new Date(loaded.birthday!.getTime()); // equal value, another object: no UPDATE
    await users.save(loaded);
    expect(Object.getOwnPropertyDescriptor(loaded, 'birthday')).toMatchObject({ writable: true, enumerable: true });
    loaded.birthday = new Date('1999-12-31T00:00:00.000Z');
    expect(loaded.birthday.toISOString()).toBe('1999-12-31T00:00:00.000Z');
    await users.save(loaded);
    expect((await users.findOneByOrFail({ login: 'equal-date' })).birthday!.toISOString()).toBe('1999-12-31T00:00:00.000Z');
  });

  /** Every stored email is an envelope (or NULL): nothing was written in plaintext. */
  async function expectNoPlaintextEmail(): Promise<void> {
    for (const stored of await rawColumn(ds, 'sealed_user', 'email')) if (stored !== null) expect(stored).toMatch(ENVELOPE);
  }

  it('a rollback never gives plaintext back to objects that concurrent saves in the transaction have yet to write', async () => {
    await users.save(users.create(sample('tx-taken')));
    const objects = Array.from({ length: 12 }, (_, i) => users.create(sample(i === 1 ? 'tx-taken' : `tx-concurrent-${i}`)));
    const saves: Promise<unknown>[] = [];
    await expect(
      ds.transaction(async (manager) => {
        for (const object of objects) saves.push(manager.getRepository(User).save(object));
        await Promise.all(saves);
      }),
    ).rejects.toThrow();
    // The saves still in flight when the transaction rolled back finish (or fail) on their own.
    await Promise.allSettled(saves);
    await expectNoPlaintextEmail();
  });

  it('a failed save never gives plaintext back to objects that concurrent saves have yet to write', async () => {
    await users.save(users.create(sample('concurrent-taken')));
    const objects = Array.from({ length: 12 }, (_, i) => users.create(sample(i === 1 ? 'concurrent-taken' : `concurrent-${i}`)));
    const results = await Promise.allSettled(objects.map((object) => users.save(object)));
    expect(results.filter((r) => r.status === 'rejected').length).toBeGreaterThan(0);
    await expectNoPlaintextEmail();
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') expect(objects[i]!.email).toBe(`${objects[i]!.login}@example.com`);
    }
  });
});
