import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryGeneratedColumn, type DataSourceOptions, type Repository } from 'typeorm';
import { Encrypted, generateKey, KeyRing, KeyVault, localKeyWrapper, SealedDataKeys, sealedSubscriber } from '../src';
import { FieldCipher } from '../src/cipher/field-cipher';
import { bindingBytes } from '../src/envelope/sealer';
import type { SealedColumn } from '../src/metadata/column-plan';
import { connection, type Dialect } from './contenders';
import { median, text, time } from './measure';

/** The benchmark row (about 20, 40 and 200 bytes) with every field in the default scope, and with every field scoped by tenant. */
@Entity('bench_scope_off')
class Unscoped {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar', length: 32 }) tenantId!: string;
  @Encrypted() name!: string;
  @Encrypted() email!: string;
  @Encrypted() notes!: string;
}
@Entity('bench_scope_on')
class Scoped {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar', length: 32 }) tenantId!: string;
  @Encrypted({ scope: 'tenantId' }) name!: string;
  @Encrypted({ scope: 'tenantId' }) email!: string;
  @Encrypted({ scope: 'tenantId' }) notes!: string;
}

export interface ScopeResult {
  dialect: Dialect;
  rows: number;
  tenants: number;
  /** Median ms: bulk save() of `rows` rows over `tenants` tenants whose keys exist, and find() of them all. */
  insertMs: { unscoped: number; scoped: number };
  findMs: { unscoped: number; scoped: number };
  /** Median ms of one save() of a single row: for a tenant with a key, and for a new tenant (its key is created). */
  saveExistingMs: number;
  saveNewTenantMs: number;
  /** Median ms of one findOneBy() of a row: under a key loaded, and under a key another process created since (fetched, unwrapped). */
  readLoadedMs: number;
  readFetchedMs: number;
}

/**
 * What choosing the key per row costs (BENCHMARKS.md, "Per-tenant keys"), with a KeyVault and the
 * local wrapper: the same three-field row with every field scoped by `tenantId` and with none,
 * bulk inserted over `tenants` tenants and read back (the variants take turns, after a warm-up);
 * and the one-off costs: the first write of a new tenant in a process (a SELECT, a wrap, an
 * INSERT) and the first read of a key another process created (a SELECT and an unwrap).
 */
export async function scopeBenchmarks(dialect: Dialect, sqliteFile: string, rows: number, reps: number): Promise<ScopeResult> {
  const master = new KeyRing({ active: generateKey() });
  const openOne = async (drop: boolean) => {
    const vault = new KeyVault({ wrapper: localKeyWrapper(master) });
    const ds = await new DataSource({
      ...connection(dialect, sqliteFile),
      entities: [Unscoped, Scoped, SealedDataKeys],
      subscribers: [sealedSubscriber({ keys: vault })],
      synchronize: true,
      dropSchema: drop,
    } as DataSourceOptions).initialize();
    await vault.load(ds);
    return { ds, vault };
  };
  const a = await openOne(true);
  const b = await openOne(false);
  const tenants = 100;
  const chunk = Math.max(1, Math.ceil(rows / 500));
  const fields = (i: number) => ({ tenantId: `t${i % tenants}`, name: text(i, 20), email: text(i + 1, 40), notes: text(i + 2, 200) });
  try {
    const insert = { unscoped: [] as number[], scoped: [] as number[] };
    const find = { unscoped: [] as number[], scoped: [] as number[] };
    for (let rep = 0; rep <= reps; rep++) {
      for (const variant of rep % 2 ? (['scoped', 'unscoped'] as const) : (['unscoped', 'scoped'] as const)) {
        const repo: Repository<object> = a.ds.getRepository<object>(variant === 'scoped' ? Scoped : Unscoped);
        await repo.clear();
        const batch = Array.from({ length: rows }, (_, i) => repo.create(fields(i)));
        const insertMs = await time(() => repo.save(batch, { chunk }));
        const findMs = await time(() => repo.find());
        if (rep > 0) {
          insert[variant].push(insertMs);
          find[variant].push(findMs);
        }
      }
    }
    const scoped = a.ds.getRepository(Scoped);
    const one = (tenantId: string, i: number) => scoped.create({ ...fields(i), tenantId });
    const saveExisting: number[] = [];
    const saveNew: number[] = [];
    const readLoaded: number[] = [];
    const readFetched: number[] = [];
    for (let i = 0; i < 50; i++) {
      saveExisting.push(await time(() => scoped.save(one('t1', i))));
      const fresh = await scoped.save(one(`new-${i}`, i)); // warms nothing: each tenant is new
      saveNew.push(await time(() => scoped.save(one(`newer-${i}`, i))));
      readLoaded.push(await time(() => b.ds.getRepository(Scoped).findOneBy({ id: (fresh as Scoped).id - 1 })));
      // b has not met the key of `newer-${i}` yet: the read fetches and unwraps it
      const created = await scoped.findOneByOrFail({ tenantId: `newer-${i}` });
      readFetched.push(await time(() => b.ds.getRepository(Scoped).findOneBy({ id: created.id })));
    }
    return {
      dialect,
      rows,
      tenants,
      insertMs: { unscoped: median(insert.unscoped), scoped: median(insert.scoped) },
      findMs: { unscoped: median(find.unscoped), scoped: median(find.scoped) },
      saveExistingMs: median(saveExisting),
      saveNewTenantMs: median(saveNew),
      readLoadedMs: median(readLoaded),
      readFetchedMs: median(readFetched),
    };
  } finally {
    await a.ds.destroy();
    await b.ds.destroy();
  }
}

export interface RowBindingResult {
  /** Median µs per seal and open of a 40-character string: a column bound to its table and column only, and one bound to its row too (a uuid key). */
  unboundUs: { seal: number; open: number };
  boundUs: { seal: number; open: number };
}

/**
 * What row binding costs per value (`@Encrypted({ bindRow: true })`): the field cipher's seal and
 * open of the same value, with the column's binding alone and with the row's key appended (a
 * binding built per value, where the column's is built once), 100,000 operations per repetition.
 */
export async function rowBindingBenchmarks(reps: number): Promise<RowBindingResult> {
  const cipher = new FieldCipher(new KeyRing({ active: generateKey() }));
  const base = { entity: 'Note', path: 'body', valueType: 'string', binding: bindingBytes('notes', 'body'), maxLength: undefined };
  const unbound = base as unknown as SealedColumn;
  const bound = { ...base, rowKey: [{ type: 'uuid', propertyPath: 'id' }] } as unknown as SealedColumn;
  const ctx = { row: () => ['0b6f3c1e-8a4e-4c7b-9d2a-5f1e2d3c4b5a'] };
  const value = text(1, 40);
  const ops = 100_000;
  const samples = { unboundSeal: [] as number[], unboundOpen: [] as number[], boundSeal: [] as number[], boundOpen: [] as number[] };
  const sealedUnbound = cipher.seal(unbound, value);
  const sealedBound = cipher.seal(bound, value, ctx);
  for (let rep = 0; rep <= reps; rep++) {
    const round = {
      unboundSeal: await time(() => {
        for (let i = 0; i < ops; i++) cipher.seal(unbound, value);
      }),
      boundSeal: await time(() => {
        for (let i = 0; i < ops; i++) cipher.seal(bound, value, ctx);
      }),
      unboundOpen: await time(() => {
        for (let i = 0; i < ops; i++) cipher.open(unbound, sealedUnbound);
      }),
      boundOpen: await time(() => {
        for (let i = 0; i < ops; i++) cipher.open(bound, sealedBound, ctx);
      }),
    };
    if (rep > 0) for (const [name, ms] of Object.entries(round)) samples[name as keyof typeof samples].push(ms);
  }
  const us = (ms: number[]) => (median(ms) * 1000) / ops;
  return { unboundUs: { seal: us(samples.unboundSeal), open: us(samples.unboundOpen) }, boundUs: { seal: us(samples.boundSeal), open: us(samples.boundOpen) } };
}
