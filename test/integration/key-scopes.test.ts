// Per-tenant keys: @Encrypted({ scope: 'tenantId' }) with a KeyVault, on every dialect. Each scope
// gets its own data key at its first write, bound into the associated data; other processes find
// it; a scope can be rotated or shredded alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Column, Entity, PrimaryGeneratedColumn, type DataSource } from 'typeorm';
import {
  Encrypted,
  generateKey,
  KeyRing,
  KeyRotator,
  KeyVault,
  localKeyWrapper,
  SealedDataKeys,
  sealedSubscriber,
  type SealedSubscriberOptions,
} from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects } from './support/dialects';

@Entity('scoped_note')
class TenantNote {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  tenantId!: string | null;

  @Encrypted({ scope: 'tenantId', valueType: 'string' })
  body!: string;

  @Encrypted({ nullable: true, valueType: 'string' })
  title!: string | null;
}

/** A scope column of type char: padded by the database, refused. */
@Entity('scoped_padded_note')
class PaddedNote {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'char', length: 8 })
  tenantId!: string;

  @Encrypted({ scope: 'tenantId', valueType: 'string' })
  body!: string;
}

/** A scope column of integers: the database reads back what it stored, as a number. */
@Entity('scoped_org_note')
class OrgNote {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'int' })
  orgId!: number;

  @Encrypted({ scope: 'orgId', valueType: 'string' })
  body!: string;
}

const MASTER = KeyRing.fromString(generateKey());
const note = (tenantId: string, body: string) => ({ tenantId, body, title: `title of ${body}` });

describe.each(testDialects())('per-tenant keys on %s', (dialect) => {
  let dir: string;
  const open: DataSource[] = [];
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'sealed-scopes-'))));
  afterEach(async () => {
    for (const ds of open.splice(0)) if (ds.isInitialized) await ds.destroy();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A process: its own vault and DataSource; the first of a test starts from empty tables. */
  async function process(fresh: boolean, options: Partial<SealedSubscriberOptions> = {}): Promise<{ ds: DataSource; vault: KeyVault }> {
    const vault = new KeyVault({ wrapper: localKeyWrapper(MASTER) });
    const extra = fresh ? {} : { dropSchema: false };
    const ds = await openDataSource(dialect, [TenantNote, OrgNote, SealedDataKeys], [sealedSubscriber({ keys: vault, ...options })], join(dir, 'db.sqlite'), {
      ...extra,
      ...(dialect === 'sqlite' ? {} : { poolSize: 2 }),
    });
    open.push(ds);
    await vault.load(ds);
    return { ds, vault };
  }
  const headerOf = async (ds: DataSource, id: number, column = 'body') =>
    String((await rawColumn(ds, 'scoped_note', column, { column: 'id', value: id }))[0]).slice(0, 20);

  it('gives each scope its own data key at its first write, bound to the scope; other processes find it', async () => {
    const a = await process(true);
    const [acme, globex] = await a.ds.getRepository(TenantNote).save([note('acme', 'a1'), note('globex', 'g1')]);
    const acmeKey = a.vault.activeKeyIdOf('acme')!;
    const globexKey = a.vault.activeKeyIdOf('globex')!;
    expect(new Set([acmeKey, globexKey, a.vault.activeKeyId]).size).toBe(3);
    expect(await headerOf(a.ds, acme!.id)).toBe(`sealed:1:x:${acmeKey}:`);
    expect(await headerOf(a.ds, globex!.id)).toBe(`sealed:1:x:${globexKey}:`);
    expect(await headerOf(a.ds, acme!.id, 'title')).toBe(`sealed:1:x:${a.vault.activeKeyId}:`); // not scoped
    expect((await a.vault.list()).map((k) => [k.scope, k.state]).sort()).toEqual([
      ['', 'active'],
      ['acme', 'active'],
      ['globex', 'active'],
    ]);

    // a second process loaded before a new tenant's first write still reads and writes it
    const b = await process(false);
    const [initech] = await a.ds.getRepository(TenantNote).save([note('initech', 'i1')]);
    expect((await b.ds.getRepository(TenantNote).findOneByOrFail({ id: initech!.id })).body).toBe('i1');
    const [more] = await b.ds.getRepository(TenantNote).save([note('initech', 'i2')]);
    expect(await headerOf(a.ds, more!.id)).toBe(`sealed:1:x:${a.vault.activeKeyIdOf('initech')}:`);
    // two processes writing a new tenant's first rows at once agree on one key (on SQLite, two
    // DataSources in one Node.js process cannot write at once: its driver waits synchronously)
    const writes = [() => a.ds.getRepository(TenantNote).save(note('umbrella', 'u1')), () => b.ds.getRepository(TenantNote).save(note('umbrella', 'u2'))];
    if (dialect === 'sqlite') for (const write of writes) await write();
    else await Promise.all(writes.map((write) => write()));
    expect((await a.vault.list()).filter((k) => k.scope === 'umbrella')).toHaveLength(1);
    const c = await process(false);
    expect((await c.ds.getRepository(TenantNote).find({ where: { tenantId: 'umbrella' } })).map((n) => n.body).sort()).toEqual(['u1', 'u2']);
  });

  it("never opens a value in another scope's row, and needs the scope to read and write", async () => {
    const { ds, vault } = await process(true);
    const repo = ds.getRepository(TenantNote);
    const [acme, globex] = await repo.save([note('acme', 'secret of acme'), note('globex', 'g')]);
    const stolen = (await rawColumn(ds, 'scoped_note', 'body', { column: 'id', value: acme!.id }))[0];
    await rawUpdate(ds, 'scoped_note', 'body', stolen, { column: 'id', value: globex!.id });
    await expect(repo.findOneByOrFail({ id: globex!.id })).rejects.toMatchObject({ code: 'SEALED_TAMPERED', entity: 'TenantNote', column: 'body' });
    // the row's tenant changed in SQL: its values no longer open
    await rawUpdate(ds, 'scoped_note', 'tenantId', 'globex', { column: 'id', value: acme!.id });
    await expect(repo.findOneByOrFail({ id: acme!.id })).rejects.toMatchObject({ code: 'SEALED_TAMPERED' });
    await rawUpdate(ds, 'scoped_note', 'tenantId', 'acme', { column: 'id', value: acme!.id });
    expect((await repo.findOneByOrFail({ id: acme!.id })).body).toBe('secret of acme');

    await expect(repo.find({ select: { id: true, body: true }, where: { id: acme!.id } })).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      message: expect.stringContaining('a read must select tenantId'),
    });
    await expect(repo.save({ tenantId: null, body: 'x', title: null })).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
    await expect(repo.save({ tenantId: '', body: 'x', title: null })).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE' });
    await expect(repo.update({ id: acme!.id }, { body: 'no tenant given' })).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
    await expect(repo.update({ id: acme!.id }, { tenantId: 'globex' })).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE' });
    await repo.update({ id: acme!.id }, { tenantId: 'acme', body: 'updated' });
    expect((await repo.findOneByOrFail({ id: acme!.id })).body).toBe('updated');
    // save() of a loaded entity moved to another tenant re-seals its scoped fields for it
    const loaded = await repo.findOneByOrFail({ id: acme!.id });
    loaded.tenantId = 'globex';
    await repo.save(loaded);
    expect(await headerOf(ds, acme!.id)).toBe(`sealed:1:x:${vault.activeKeyIdOf('globex')}:`);
    expect((await repo.findOneByOrFail({ id: acme!.id })).body).toBe('updated');
  });

  it('keeps no key created in a transaction that rolled back', async () => {
    const { ds, vault } = await process(true);
    await expect(
      ds.transaction(async (manager) => {
        await manager.getRepository(TenantNote).save(note('hooli', 'h1'));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    // the key was written in the write's transaction and rolled back with it
    expect((await vault.list()).filter((k) => k.scope === 'hooli')).toHaveLength(0);
    const [saved] = await ds.getRepository(TenantNote).save([note('hooli', 'h2')]);
    const later = await process(false);
    expect((await later.ds.getRepository(TenantNote).findOneByOrFail({ id: saved!.id })).body).toBe('h2');
  });

  it('forgets a key whose savepoint or outer transaction rolled back, keeps one whose outer transaction committed', async () => {
    const { ds, vault } = await process(true);
    // the key is created inside a nested transaction that commits, then the outer one rolls back
    await expect(
      ds.transaction(async (outer) => {
        await outer.transaction((inner) => inner.getRepository(TenantNote).save(note('nested', 'n1')));
        throw new Error('outer rolled back');
      }),
    ).rejects.toThrow('outer rolled back');
    expect(vault.activeKeyIdOf('nested')).toBeUndefined();
    // created inside a savepoint that rolls back, while the outer transaction goes on and commits
    await ds.transaction(async (outer) => {
      await expect(
        outer.transaction(async (inner) => {
          await inner.getRepository(TenantNote).save(note('savepoint', 's1'));
          throw new Error('inner rolled back');
        }),
      ).rejects.toThrow('inner rolled back');
      await outer.getRepository(TenantNote).save(note('savepoint', 's2'));
    });
    const [after] = await ds.getRepository(TenantNote).save([note('nested', 'n2')]);
    const fresh = await process(false);
    const notes = await fresh.ds.getRepository(TenantNote).find({ where: [{ tenantId: 'nested' }, { tenantId: 'savepoint' }] });
    expect(notes.map((n) => n.body).sort()).toEqual(['n2', 's2']);
    expect(after!.body).toBe('n2');
    expect((await vault.list()).filter((k) => k.scope === 'nested' || k.scope === 'savepoint')).toHaveLength(2);
  });

  it("creates new tenants concurrently on the write's own connection (a pool of two), and checks what a tenant id reads back as", async () => {
    const { ds, vault } = await process(true);
    const repo = ds.getRepository(TenantNote);
    await Promise.all(Array.from({ length: 6 }, (_, i) => repo.save(note(`new-${i}`, `b${i}`))));
    expect((await repo.find()).map((n) => n.body).sort()).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
    const orgs = ds.getRepository(OrgNote);
    await expect(orgs.save({ orgId: '007' as unknown as number, body: 'x' })).rejects.toMatchObject({
      code: 'SEALED_UNSUPPORTED_VALUE',
      message: expect.stringContaining('canonical decimal'),
    });
    const [org] = await orgs.save([{ orgId: 7, body: 'seven' }]);
    expect((await orgs.findOneByOrFail({ id: org!.id })).body).toBe('seven');
    await vault.createKey({ scope: 7 as unknown as string, activate: true });
    expect(vault.activeKeyIdOf('7')).toBeDefined();
    expect((await new KeyRotator(ds, { scope: 7 }).rotate()).status).toBe('complete');
    await expect(new KeyRotator(ds, { scope: 'nobody' }).rotate()).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      message: expect.stringContaining('has no data key: nothing to rotate'),
    });
    for (const other of [(r: KeyRotator) => r.verify(), (r: KeyRotator) => r.decryptAll(), (r: KeyRotator) => r.census()]) {
      await expect(other(new KeyRotator(ds, { scope: 7 }))).rejects.toMatchObject({
        code: 'SEALED_CONFIG',
        message: expect.stringContaining('applies to rotate only'),
      });
    }
    expect((await new KeyRotator(ds, { scope: 7 }).rotate()).activeKeyId).toBe(vault.activeKeyIdOf('7'));
    // an upsert overwriting a scoped field but not its scope column is refused
    await expect(
      repo.upsert({ id: 1, tenantId: 'new-0', body: 'x', title: null }, { conflictPaths: ['id'], skipUpdateIfNoValuesChanged: false }),
    ).resolves.toBeDefined();
    expect(() => ds.createQueryBuilder().insert().into(TenantNote).values(note('new-1', 'y')).orUpdate(['body'], ['id'])).toThrow(
      expect.objectContaining({ code: 'SEALED_UNSUPPORTED_QUERY' }),
    );
  });

  it('rotates one scope alone, and shreds one scope while the others read', async () => {
    const a = await process(true);
    const repo = a.ds.getRepository(TenantNote);
    const saved = await repo.save([note('acme', 'a1'), note('acme', 'a2'), note('globex', 'g1')]);
    const oldAcme = a.vault.activeKeyIdOf('acme')!;
    const oldGlobex = a.vault.activeKeyIdOf('globex')!;
    await a.vault.createKey({ scope: 'acme', activate: true });
    await a.vault.createKey({ scope: 'globex', activate: true });
    const newAcme = a.vault.activeKeyIdOf('acme')!;
    const report = await new KeyRotator(a.ds, { scope: 'acme' }).rotate();
    expect(report.status).toBe('complete');
    expect(await headerOf(a.ds, saved[0]!.id)).toBe(`sealed:1:x:${newAcme}:`);
    expect(await headerOf(a.ds, saved[2]!.id)).toBe(`sealed:1:x:${oldGlobex}:`); // another scope: left
    expect(report.columns.find((c) => c.column === 'title')).toMatchObject({ rewritten: 0 });
    expect(newAcme).not.toBe(oldAcme);

    const shredded = await a.vault.shredScope('acme');
    expect(shredded.map((k) => k.state)).toEqual(['shredded', 'shredded']);
    await expect(repo.findOneByOrFail({ id: saved[0]!.id })).rejects.toMatchObject({ code: 'SEALED_SHREDDED', column: 'body' });
    expect((await repo.findOneByOrFail({ id: saved[2]!.id })).body).toBe('g1');
    const census = await new KeyRotator(a.ds).census();
    expect(census.columns.find((c) => c.column === 'body')).toMatchObject({ shredded: 2, unknownKeyIds: [] });
    // with shreddedAsNull, lists across scopes keep working
    const b = await process(false, { shreddedAsNull: true });
    const all = await b.ds.getRepository(TenantNote).find({ order: { id: 'ASC' } });
    expect(all.map((n) => [n.tenantId, n.body, n.title])).toEqual([
      ['acme', null, 'title of a1'],
      ['acme', null, 'title of a2'],
      ['globex', 'g1', 'title of g1'],
    ]);
    // a later write in the shredded scope gets a new key
    const [reborn] = await repo.save([note('acme', 'a3')]);
    expect((await repo.findOneByOrFail({ id: reborn!.id })).body).toBe('a3');
    expect((await a.vault.list()).filter((k) => k.scope === 'acme').map((k) => k.state)).toEqual(['shredded', 'shredded', 'active']);
    // rotating every scope now moves globex to its new key and leaves the shredded values
    const all2 = await new KeyRotator(a.ds).rotate();
    expect(all2.status).toBe('complete');
    expect(await headerOf(a.ds, saved[2]!.id)).toBe(`sealed:1:x:${a.vault.activeKeyIdOf('globex')}:`);
  });

  it('keeps one key per new tenant and loses no write when transactions and plain inserts of one process race for the same tenants', async () => {
    if (dialect === 'sqlite') return; // one connection: no two writes run at once
    const { ds, vault } = await process(true);
    const repo = ds.getRepository(TenantNote);
    const written: string[] = [];
    for (let round = 0; round < 8; round++) {
      const writes = Array.from({ length: 6 }, async (_, i) => {
        const rows = [note(`r${round}-${i % 3}`, `a${round}.${i}`), note(`r${round}-${(i + 1) % 3}`, `b${round}.${i}`)];
        try {
          await (i % 2 ? ds.transaction((m) => m.getRepository(TenantNote).save(rows)) : repo.insert(rows));
          written.push(...rows.map((r) => r.body));
        } catch (e) {
          // a deadlock the database broke: the write was rolled back as a whole, and says so
          expect(e).toMatchObject({ code: 'SEALED_KEY_STORE', message: expect.stringContaining('run it again') });
        }
      });
      await Promise.all(writes);
    }
    const perScope = new Map<string, number>();
    for (const k of await vault.list()) if (k.state === 'active') perScope.set(k.scope, (perScope.get(k.scope) ?? 0) + 1);
    expect([...perScope.values()].every((n) => n === 1)).toBe(true);
    expect(written.length).toBeGreaterThan(48); // most writes go through
    const fresh = await process(false);
    expect((await fresh.ds.getRepository(TenantNote).find()).map((n) => n.body).sort()).toEqual(written.sort());
  });

  it('refuses a scope column of type char, which the database pads', async () => {
    if (dialect === 'sqlite') return; // SQLite has no char type
    await expect(
      openDataSource(dialect, [PaddedNote], [sealedSubscriber({ keys: new KeyVault({ wrapper: localKeyWrapper(MASTER) }) })], join(dir, 'padded.sqlite')),
    ).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      message: expect.stringContaining('of type char'),
    });
  });

  it('refuses a scoped field without a key vault', async () => {
    // synchronize's first query meets the check
    await expect(openDataSource(dialect, [TenantNote], [sealedSubscriber({ keys: MASTER })], join(dir, 'ring.sqlite'))).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      message: expect.stringContaining('give it a KeyVault'),
    });
  });
});
