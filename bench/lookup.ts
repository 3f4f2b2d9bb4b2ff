import 'reflect-metadata';
import { Column, Entity, Index, PrimaryGeneratedColumn, type DataSource, type Repository } from 'typeorm';
import { Encrypted, generateKey, KeyRing, sealedRepository } from '../src';
import { FieldCipher } from '../src/cipher/field-cipher';
import { sealedColumnsOf } from '../src/metadata/column-plan';
import { open, type Dialect } from './contenders';
import { median, text, time } from './measure';

/** The lookup key of the plain contender: an ordinary indexed column. */
@Entity('bench_lookup_plain')
class PlainUser {
  @PrimaryGeneratedColumn() id!: number;
  @Index() @Column({ type: 'varchar', length: 120 }) email!: string;
}

/** The same key encrypted, with a unique blind index normalised as e-mail addresses are. */
@Entity('bench_lookup_sealed')
class SealedUser {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted({ index: { normalize: ['trim', 'lowercase', 'nfc'], unique: true } }) email!: string;
}

export interface LookupResult {
  dialect: Dialect;
  rows: number;
  lookups: number;
  /** Median milliseconds of one lookup (a repetition's time over its lookups). */
  plainMs: number;
  sealedMs: number;
  /**
   * Median milliseconds of the library's cryptography per lookup alone, between database round
   * trips: the index value of the address, the open of the row's envelope, the re-check.
   */
  cryptoMs: number;
  /** Seconds the table took to fill, by chunked insert() through TypeORM. */
  plainFillS: number;
  sealedFillS: number;
}

const CHUNK = 1000;
const WARM_UP = 200;

/** The e-mail address of row `i`: distinct, already normalised (so both contenders look up the same string). */
export const emailOf = (i: number) => `${text(i, 12)}.${i}@example.com`;

/**
 * Blind index lookups (BENCHMARKS.md, "Blind index lookups") on one dialect: a table of `rows`
 * users per contender, then `findOneBy({ email })` of random existing addresses, plain TypeORM on
 * an indexed varchar against `sealedRepository(repo).findOneBy({ email })` on the blind index
 * (one SELECT by index value, then decryption and the re-check). Warmed up first; contenders take
 * turns within each repetition, each over the same addresses.
 */
export async function lookupBenchmarks(dialect: Dialect, sqliteFile: string, rows: number, reps: number, lookups = 1000): Promise<LookupResult> {
  const plainDs = await open(dialect, sqliteFile, 'plain', PlainUser);
  const sealedDs = await open(dialect, sqliteFile, 'sealed', SealedUser);
  try {
    const plain = plainDs.getRepository(PlainUser);
    const sealedRepo = sealedDs.getRepository(SealedUser);
    const plainFillS = (await time(() => fill(plain, rows))) / 1000;
    const sealedFillS = (await time(() => fill(sealedRepo, rows))) / 1000;
    await analyze(plainDs, 'bench_lookup_plain');
    await analyze(sealedDs, 'bench_lookup_sealed');

    const sealed = sealedRepository(sealedRepo);
    const contenders: { name: 'plain' | 'sealed'; find: (email: string) => Promise<{ email: string } | null> }[] = [
      { name: 'plain', find: (email) => plain.findOneBy({ email }) },
      { name: 'sealed', find: (email) => sealed.findOneBy({ email }) },
    ];
    const run = async (find: (email: string) => Promise<{ email: string } | null>, emails: string[]) => {
      for (const email of emails) {
        const found = await find(email);
        if (found?.email !== email) throw new Error(`lookup of ${email} found ${found ? 'another row' : 'nothing'}`);
      }
    };
    for (const c of contenders) await run(c.find, picks(rows, WARM_UP, 0x5eed));
    const samples: Record<'plain' | 'sealed' | 'crypto', number[]> = { plain: [], sealed: [], crypto: [] };
    const crypto = cryptoAlone(sealedDs);
    for (let rep = 0; rep < reps; rep++) {
      const emails = picks(rows, lookups, rep + 1);
      for (const c of rep % 2 ? [...contenders].reverse() : contenders) samples[c.name].push((await time(() => run(c.find, emails))) / lookups);
      samples.crypto.push((await crypto(emails)) / lookups);
    }
    return {
      dialect,
      rows,
      lookups,
      plainMs: median(samples.plain),
      sealedMs: median(samples.sealed),
      cryptoMs: median(samples.crypto),
      plainFillS,
      sealedFillS,
    };
  } finally {
    await plainDs.query('DROP TABLE IF EXISTS bench_lookup_plain');
    await sealedDs.query('DROP TABLE IF EXISTS bench_lookup_sealed');
    await plainDs.destroy();
    await sealedDs.destroy();
  }
}

/** Empties the table and inserts `rows` users in chunks through TypeORM (the subscriber seals and indexes the sealed ones). */
async function fill(repo: Repository<{ email: string }>, rows: number): Promise<void> {
  await repo.clear();
  for (let start = 0; start < rows; start += CHUNK) {
    await repo.insert(Array.from({ length: Math.min(CHUNK, rows - start) }, (_, i) => repo.create({ email: emailOf(start + i) })));
  }
}

/**
 * Milliseconds of cryptography that lookups of `emails` take, done by the library with nothing
 * else, each measured between two database round trips (a `SELECT 1`) as in a lookup: run in a
 * tight loop instead, the same calls take a third to a half of that, with warm caches.
 */
function cryptoAlone(ds: DataSource): (emails: string[]) => Promise<number> {
  const cipher = new FieldCipher(new KeyRing({ active: generateKey() }), { indexKeys: new KeyRing({ active: generateKey() }) });
  const sc = sealedColumnsOf(ds.getMetadata(SealedUser)).find((c) => c.index)!;
  const envelopes = new Map<string, string>();
  return async (emails) => {
    for (const email of emails) if (!envelopes.has(email)) envelopes.set(email, cipher.seal(sc, email));
    let ms = 0;
    for (const email of emails) {
      await ds.query('SELECT 1');
      const start = process.hrtime.bigint();
      cipher.indexValues(sc, email);
      const passes = cipher.sameIndexedValue(sc, cipher.open(sc, envelopes.get(email)), email);
      ms += Number(process.hrtime.bigint() - start) / 1e6;
      if (!passes) throw new Error('the re-check failed');
    }
    return ms;
  };
}

/** Fresh planner statistics, as a table in service would have. */
async function analyze(ds: DataSource, table: string): Promise<void> {
  const type = ds.driver.options.type;
  await ds.query(type === 'postgres' ? `ANALYZE ${table}` : type === 'mariadb' ? `ANALYZE TABLE ${table}` : 'ANALYZE');
}

/** `count` addresses of existing rows, chosen at random (deterministic for a seed). */
function picks(rows: number, count: number, seed: number): string[] {
  let x = (seed * 2654435761) >>> 0 || 1;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return emailOf((x >>> 0) % rows);
  });
}
