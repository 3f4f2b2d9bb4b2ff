// Row binding (@Encrypted({ bindRow: true })) on every dialect: a value bound to its row's primary
// key does not open in another row; keys the application assigns; every write path carries the key;
// the rotator and raw reads bind the same way; database-generated keys are refused at startup.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BeforeInsert, Column, Entity, PrimaryColumn, PrimaryGeneratedColumn, type DataSource } from 'typeorm';
import { Encrypted, generateKey, KeyRing, KeyRotator, KeyVault, localKeyWrapper, openRawRows, SealedDataKeys, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects } from './support/dialects';

@Entity('bound_note')
class BoundNote {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Encrypted({ bindRow: true, valueType: 'string' })
  body!: string;

  @Encrypted({ nullable: true, valueType: 'string' })
  title!: string | null;

  @BeforeInsert()
  assignId(): void {
    this.id ??= randomUUID();
  }
}

@Entity('bound_member')
class BoundMember {
  @PrimaryColumn({ type: 'int' })
  orgId!: number;

  @PrimaryColumn({ type: 'varchar', length: 32 })
  member!: string;

  @Encrypted({ bindRow: true, valueType: 'string' })
  role!: string;
}

@Entity('bound_tenant_note')
class BoundTenantNote {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 32 })
  tenantId!: string;

  @Encrypted({ scope: 'tenantId', bindRow: true, valueType: 'string' })
  secret!: string;
}

@Entity('bound_dated')
class BoundDated {
  @PrimaryColumn({ type: 'varchar', length: 8 })
  code!: string;

  @PrimaryColumn({ type: 'date' })
  at!: string;

  @Encrypted({ bindRow: true, valueType: 'string' })
  body!: string;
}

@Entity('bound_big')
class BoundBig {
  @PrimaryColumn({ type: 'bigint' })
  id!: string;

  @Encrypted({ bindRow: true, valueType: 'string' })
  body!: string;
}

@Entity('bound_generated')
class BoundGenerated {
  @PrimaryGeneratedColumn()
  id!: number;

  @Encrypted({ bindRow: true, valueType: 'string' })
  body!: string;
}

const keys = KeyRing.fromString(generateKey());

describe.each(testDialects())('row binding on %s', (dialect) => {
  let dir: string;
  let ds: DataSource;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'sealed-rowbind-'))));
  afterEach(async () => {
    if (ds?.isInitialized) await ds.destroy();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const swap = async (table: string, column: string, where: string, a: unknown, b: unknown) => {
    const [va] = await rawColumn(ds, table, column, { column: where, value: a });
    const [vb] = await rawColumn(ds, table, column, { column: where, value: b });
    await rawUpdate(ds, table, column, vb, { column: where, value: a });
    await rawUpdate(ds, table, column, va, { column: where, value: b });
  };

  it('opens a value only in its own row; an unbound field swapped between rows still opens', async () => {
    ds = await openDataSource(dialect, [BoundNote, BoundMember], [sealedSubscriber({ keys })]);
    const repo = ds.getRepository(BoundNote);
    const upper = randomUUID().toUpperCase(); // PostgreSQL returns uuids in lower case: bound as it reads back
    const [a, b] = await repo.save([repo.create({ id: upper, body: 'body a', title: 'title a' }), repo.create({ body: 'body b', title: 'title b' })]);
    expect((await repo.findOneByOrFail({ id: a!.id })).body).toBe('body a');
    expect((await repo.findOneByOrFail({ id: b!.id })).body).toBe('body b');
    const idA = (await repo.find()).find((n) => n.body === 'body a')!.id;
    await swap('bound_note', 'title', 'id', idA, b!.id);
    expect((await repo.findOneByOrFail({ id: b!.id })).title).toBe('title a'); // not bound: documented
    await swap('bound_note', 'body', 'id', idA, b!.id);
    await expect(repo.findOneByOrFail({ id: b!.id })).rejects.toMatchObject({ code: 'SEALED_TAMPERED', entity: 'BoundNote', column: 'body' });
    await swap('bound_note', 'body', 'id', idA, b!.id);

    const members = ds.getRepository(BoundMember);
    await members.save([
      { orgId: 1, member: 'ann', role: 'admin' },
      { orgId: 1, member: 'bob', role: 'viewer' },
      { orgId: 2, member: 'ann', role: 'owner' },
    ]);
    const [role] = await rawColumn(ds, 'bound_member', 'role', { column: 'member', value: 'bob' });
    await ds.query(
      `UPDATE ${ds.driver.escape('bound_member')} SET ${ds.driver.escape('role')} = ${dialect === 'postgres' ? '$1' : '?'} WHERE ${ds.driver.escape('orgId')} = 2`,
      [role],
    );
    await expect(members.findOneByOrFail({ orgId: 2, member: 'ann' })).rejects.toMatchObject({ code: 'SEALED_TAMPERED' });
    expect((await members.findOneByOrFail({ orgId: 1, member: 'ann' })).role).toBe('admin');
  });

  it('needs the key in every write, and rewrites bound fields when the key changes', async () => {
    ds = await openDataSource(dialect, [BoundNote], [sealedSubscriber({ keys })]);
    const repo = ds.getRepository(BoundNote);
    const saved = await repo.save(repo.create({ body: 'first', title: null }));
    await expect(repo.update({ id: saved.id }, { body: 'no key given' })).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      message: expect.stringContaining('must carry id'),
    });
    await repo.update({ id: saved.id }, { id: saved.id, body: 'with its key' });
    expect((await repo.findOneByOrFail({ id: saved.id })).body).toBe('with its key');
    const other = randomUUID();
    await expect(repo.update({ id: saved.id }, { id: other })).rejects.toMatchObject({
      code: 'SEALED_UNSUPPORTED_VALUE',
      message: expect.stringContaining('(id)'),
    });
    await repo.update({ id: saved.id }, { id: other, body: 'moved' });
    expect((await repo.findOneByOrFail({ id: other })).body).toBe('moved');
    // a partial save finds the key in the object; QueryBuilder insert and upsert carry it too
    await repo.save({ id: other, body: 'partial' });
    expect((await repo.findOneByOrFail({ id: other })).body).toBe('partial');
    const qb = randomUUID();
    await ds.createQueryBuilder().insert().into(BoundNote).values({ id: qb, body: 'qb', title: null }).execute();
    await repo.upsert({ id: qb, body: 'upserted', title: null }, ['id']);
    expect((await repo.findOneByOrFail({ id: qb })).body).toBe('upserted');
  });

  it('rotates, verifies and opens raw rows with the same binding', async () => {
    const oldKey = generateKey();
    const file = join(dir, 'rotate.sqlite');
    ds = await openDataSource(dialect, [BoundMember], [sealedSubscriber({ keys: KeyRing.fromString(oldKey) })], file);
    await ds.getRepository(BoundMember).save(Array.from({ length: 30 }, (_, i) => ({ orgId: i % 3, member: `m${i}`, role: `role ${i}` })));
    const raw: { orgId: number; member: string; role: string }[] = await ds.query(`SELECT * FROM ${ds.driver.escape('bound_member')}`);
    expect(
      openRawRows(ds, BoundMember, raw)
        .map((r) => [r.member, r.role])
        .sort(),
    ).toEqual(Array.from({ length: 30 }, (_, i) => [`m${i}`, `role ${i}`]).sort());
    const withoutKey = await ds.query(`SELECT ${ds.driver.escape('role')} FROM ${ds.driver.escape('bound_member')}`);
    expect(() => openRawRows(ds, BoundMember, withoutKey)).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }));

    const ring = KeyRing.fromString(`${generateKey()},${oldKey}`);
    expect((await new KeyRotator(ds, { keys: ring, batchSize: 7 }).rotate()).status).toBe('complete');
    expect((await new KeyRotator(ds, { keys: ring }).verify()).status).toBe('complete');
    await ds.destroy();
    ds = await openDataSource(dialect, [BoundMember], [sealedSubscriber({ keys: ring })], file, { dropSchema: false });
    expect((await ds.getRepository(BoundMember).findOneByOrFail({ orgId: 1, member: 'm4' })).role).toBe('role 4');
    expect(new Set((await rawColumn(ds, 'bound_member', 'role')).map((v) => String(v).slice(11, 19)))).toEqual(new Set([ring.activeKeyId]));
  });

  it('binds to the tenant and the row at once', async () => {
    const vault = new KeyVault({ wrapper: localKeyWrapper(keys) });
    ds = await openDataSource(dialect, [BoundTenantNote, SealedDataKeys], [sealedSubscriber({ keys: vault })], join(dir, 'db.sqlite'));
    await vault.load(ds);
    const repo = ds.getRepository(BoundTenantNote);
    await repo.save([
      { id: 'n1', tenantId: 'acme', secret: 'one' },
      { id: 'n2', tenantId: 'acme', secret: 'two' },
    ]);
    await swap('bound_tenant_note', 'secret', 'id', 'n1', 'n2');
    await expect(repo.findOneByOrFail({ id: 'n1' })).rejects.toMatchObject({ code: 'SEALED_TAMPERED' });
  });

  it('refuses date keys at startup, and integer keys beyond 2^53 at the write', async () => {
    await expect(openDataSource(dialect, [BoundDated], [sealedSubscriber({ keys })])).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      message: expect.stringContaining('at is date'),
    });
    ds = await openDataSource(dialect, [BoundBig], [sealedSubscriber({ keys })]);
    const repo = ds.getRepository(BoundBig);
    await expect(repo.save({ id: '9007199254740993', body: 'x' })).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE' });
    await repo.save({ id: '9007199254740991', body: 'largest safe' });
    expect((await repo.findOneByOrFail({ id: '9007199254740991' })).body).toBe('largest safe');
  });

  it('refuses a row-bound field on a table whose key the database generates', async () => {
    await expect(openDataSource(dialect, [BoundGenerated], [sealedSubscriber({ keys })])).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      message: expect.stringContaining('bindRow needs a primary key the application assigns'),
    });
  });
});
