import { ILike, In, IsNull, Like, Not, type DataSource } from 'typeorm';
import { generateKey, KeyRing, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, testDialects } from './support/dialects';
import { ENTITIES, Note, User } from './support/entities';

const keys = new KeyRing({ active: generateKey() });

describe.each(testDialects())('query guard on %s', (dialect) => {
  let ds: DataSource;
  beforeAll(async () => {
    ds = await openDataSource(dialect, ENTITIES, [sealedSubscriber({ keys })]);
    await ds.getRepository(User).save({ login: 'guarded', email: 'g@example.com', score: null });
  });
  afterAll(() => ds?.destroy());

  const refused: [string, (ds: DataSource) => Promise<unknown>, string][] = [
    ['find equality', (d) => d.getRepository(User).find({ where: { email: 'g@example.com' } }), 'email'],
    ['find Like', (d) => d.getRepository(User).findBy({ email: Like('%g%') }), 'email'],
    ['find In', (d) => d.getRepository(User).findBy({ email: In(['a', 'b']) }), 'email'],
    ['find Not', (d) => d.getRepository(User).findBy({ email: Not('a') }), 'email'],
    ['find on an embedded column', (d) => d.getRepository(User).findBy({ address: { street: 'x' } }), 'address.street'],
    ['where through a relation', (d) => d.getRepository(Note).findBy({ author: { email: 'x' } }), 'email'],
    ['countBy', (d) => d.getRepository(User).countBy({ email: 'x' }), 'email'],
    ['QueryBuilder condition', (d) => d.getRepository(User).createQueryBuilder('u').where('u.email = :e', { e: 'x' }).getMany(), 'email'],
    ['unqualified QueryBuilder condition', (d) => d.getRepository(User).createQueryBuilder('u').where('email = :e', { e: 'x' }).getMany(), 'email'],
    ['find ILike', (d) => d.getRepository(User).findBy({ email: ILike('%g%') }), 'email'],
    ['a function of the column', (d) => d.getRepository(User).createQueryBuilder('u').where('LOWER(u.email) = :e', { e: 'x' }).getMany(), 'email'],
    ['reversed operands', (d) => d.getRepository(User).createQueryBuilder('u').where(':e = u.email', { e: 'x' }).getMany(), 'email'],
    ['update criteria', (d) => d.getRepository(User).update({ email: 'x' }, { login: 'y' }), 'email'],
    ['delete criteria', (d) => d.getRepository(User).delete({ email: 'x' }), 'email'],
  ];

  it.each(refused)('refuses %s with SEALED_UNSUPPORTED_QUERY', async (_name, run, column) => {
    await expect(run(ds)).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_QUERY', column });
  });

  it('allows IS NULL, plain columns, ordering and selecting encrypted columns', async () => {
    const repo = ds.getRepository(User);
    expect(await repo.countBy({ score: IsNull() })).toBe(1);
    expect(await repo.countBy({ score: Not(IsNull()) })).toBe(0);
    expect((await repo.findOneByOrFail({ login: 'guarded' })).email).toBe('g@example.com');
    expect(await repo.createQueryBuilder('u').select(['u.id', 'u.email']).orderBy('u.email').getMany()).toHaveLength(1);
    expect(await repo.createQueryBuilder('u').where("u.login = 'email = x'").getCount()).toBe(0);
  });

  it('can be turned off with guardQueries: false', async () => {
    const open = await openDataSource('sqlite', ENTITIES, [sealedSubscriber({ keys, guardQueries: false })]);
    try {
      expect(await open.getRepository(User).findBy({ email: 'g@example.com' })).toEqual([]);
    } finally {
      await open.destroy();
    }
  });
});
