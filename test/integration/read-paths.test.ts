import type { DataSource } from 'typeorm';
import { generateKey, KeyRing, openRawRows, SealedError, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, testDialects } from './support/dialects';
import { Child, ENTITIES, Note, User } from './support/entities';

const keys = new KeyRing({ active: generateKey() });

describe.each(testDialects())('read paths on %s', (dialect) => {
  let ds: DataSource;
  let alice: User;

  beforeAll(async () => {
    ds = await openDataSource(dialect, ENTITIES, [sealedSubscriber({ keys })]);
    alice = await ds
      .getRepository(User)
      .save(ds.getRepository(User).create({ login: 'alice', email: 'alice@example.com', address: { street: 'Main St 1', city: 'Springfield' } }));
    await ds.getRepository(Note).save([
      { body: 'first note', author: alice },
      { body: 'second note', author: alice },
    ]);
    await ds.getRepository(Child).save({ secret: 'inherited secret', pin: '1234' });
  });
  afterAll(() => ds?.destroy());

  it('find, findOneBy, getMany and getOne return plaintext', async () => {
    const repo = ds.getRepository(User);
    expect((await repo.find())[0]).toMatchObject({ email: 'alice@example.com', address: { street: 'Main St 1' } });
    expect(await repo.findOneBy({ id: alice.id })).toMatchObject({ email: 'alice@example.com' });
    expect((await repo.createQueryBuilder('u').getMany())[0]!.email).toBe('alice@example.com');
    expect((await repo.createQueryBuilder('u').where('u.id = :id', { id: alice.id }).getOne())!.email).toBe('alice@example.com');
  });

  it('opens eager relations', async () => {
    const notes = await ds.getRepository(Note).find({ order: { id: 'ASC' } });
    expect(notes.map((n) => n.body)).toEqual(['first note', 'second note']);
    expect(notes[0]!.author).toMatchObject({ email: 'alice@example.com', address: { street: 'Main St 1' } });
  });

  it('opens relations loaded with relations: and leftJoinAndSelect', async () => {
    const withRelations = await ds.getRepository(User).findOneOrFail({ where: { id: alice.id }, relations: { notes: true } });
    expect(withRelations.notes.map((n) => n.body).sort()).toEqual(['first note', 'second note']);
    const joined = await ds
      .getRepository(User)
      .createQueryBuilder('u')
      .leftJoinAndSelect('u.notes', 'n')
      .where('u.id = :id', { id: alice.id })
      .orderBy('n.id')
      .getOneOrFail();
    expect(joined.email).toBe('alice@example.com');
    expect(joined.notes.map((n) => n.body)).toEqual(['first note', 'second note']);
  });

  it('opens columns declared on a base class and on embedded classes', async () => {
    const [loaded] = await ds.getRepository(Child).find();
    expect(loaded).toMatchObject({ secret: 'inherited secret', pin: '1234' });
    expect((await rawColumn(ds, 'sealed_child', 'secret'))[0]).toMatch(/^sealed:1:x:/);
    expect((await rawColumn(ds, 'sealed_user', 'addressStreet'))[0]).toMatch(/^sealed:1:x:/);
  });

  it('raw results stay sealed, and openRawRows opens them', async () => {
    const raw = await ds.getRepository(User).createQueryBuilder('u').where('u.id = :id', { id: alice.id }).getRawMany();
    expect(raw[0].u_email).toMatch(/^sealed:1:x:/);
    openRawRows(ds, User, raw, { alias: 'u' });
    expect(raw[0]).toMatchObject({ u_email: 'alice@example.com', u_addressStreet: 'Main St 1', u_login: 'alice' });

    const q = (name: string) => ds.driver.escape(name);
    const rows = await ds.query(`SELECT * FROM ${q('sealed_user')}`);
    expect(openRawRows(ds, User, rows)[0]).toMatchObject({ email: 'alice@example.com', addressStreet: 'Main St 1' });
  });

  it('fits a value of exactly sealedLength(n) bytes, refuses a longer one and writes nothing', async () => {
    const { id } = await ds.getRepository(Child).save({ secret: 's', pin: 'x'.repeat(16) });
    expect((await ds.getRepository(Child).findOneByOrFail({ id })).pin).toBe('x'.repeat(16));
    await ds.getRepository(Child).delete({ id });

    const error = await ds
      .getRepository(Child)
      .save({ secret: 's', pin: 'x'.repeat(17) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SealedError);
    expect(error).toMatchObject({ code: 'SEALED_VALUE_TOO_LONG', entity: 'Child', column: 'pin' });
    expect((error as Error).message).not.toContain('xxxx');
    expect(await ds.getRepository(Child).count()).toBe(1);
  });

  it("checks a varchar without length against the driver's default length", async () => {
    const memo = 'm'.repeat(300);
    const saving = ds.getRepository(Child).save({ secret: 's', memo });
    if (dialect === 'mariadb') {
      await expect(saving).rejects.toMatchObject({ code: 'SEALED_VALUE_TOO_LONG', column: 'memo', message: expect.stringContaining('holds 255') });
    } else {
      const { id } = await saving;
      expect((await ds.getRepository(Child).findOneByOrFail({ id })).memo).toBe(memo);
      await ds.getRepository(Child).delete({ id });
    }
    expect(await ds.getRepository(Child).count()).toBe(1);
  });

  it('refuses a raw SQL function as the value of an encrypted column', async () => {
    const set = ds
      .createQueryBuilder()
      .update(User)
      .set({ email: () => "'sql'" })
      .where('id = :id', { id: alice.id });
    await expect(set.execute()).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', entity: 'User', column: 'email' });
    const values = ds
      .createQueryBuilder()
      .insert()
      .into(User)
      .values({ login: 'fn', email: () => "'sql'" });
    await expect(values.execute()).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', column: 'email' });
    expect((await ds.getRepository(User).findOneByOrFail({ id: alice.id })).email).toBe('alice@example.com');
  });

  it('refuses a value of the wrong type, naming entity and column only', async () => {
    const wrong = ds.getRepository(User).create({ login: 'wrong-type', email: 'w@example.com', score: 'secret-text' as never });
    const error = await ds
      .getRepository(User)
      .save(wrong)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', entity: 'User', column: 'score' });
    expect((error as Error).message).toContain('expected a number, got string');
    expect((error as Error).message).not.toContain('secret-text');
  });
});
