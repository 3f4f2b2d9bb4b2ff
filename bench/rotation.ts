import 'reflect-metadata';
import { DataSource, Entity, PrimaryGeneratedColumn, type DataSourceOptions } from 'typeorm';
import { bindingBytes, Sealer } from '../src/envelope/sealer';
import { encodeValue } from '../src/codec/codec';
import { Encrypted, generateKey, KeyRing, KeyRotator, sealedSubscriber } from '../src';
import { connection, type Dialect } from './contenders';
import { median, peakLiveHeapMb, text, time } from './measure';

@Entity('bench_rotation')
class RotationRow {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() email!: string;
}

@Entity('bench_rotation_small')
class SmallRotationRow {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() email!: string;
}

export interface RotationResult {
  dialect: Dialect;
  rows: number;
  rotatorRowsPerSec: number;
  rawRowsPerSec: number;
  /** Largest live heap (after GC, at every batch) during KeyRotator.rotate(), MB, on the small and the large table. */
  peakHeapSmallMb: number;
  peakHeapLargeMb: number;
  smallRows: number;
}

const BATCH = 500;

/**
 * Scenario 5: KeyRotator.rotate() against a hand-written rewrite of the same rows (keyset read,
 * the same open + seal, one CASE UPDATE per batch, one transaction per batch), in rows per
 * second; and the rotator's live heap (after GC, sampled at every batch) on a small and a large table. Keys alternate (A->B for the
 * rotator, B->A for the raw rewrite) so every run rewrites every row without reseeding.
 */
export async function rotationBenchmarks(dialect: Dialect, sqliteFile: string, rows: number, reps: number): Promise<RotationResult> {
  const [a, b] = [generateKey(), generateKey()];
  const toB = new KeyRing({ active: b, decryptOnly: [a] });
  const toA = new KeyRing({ active: a, decryptOnly: [b] });
  const ds = await new DataSource({
    ...connection(dialect, sqliteFile),
    entities: [RotationRow, SmallRotationRow],
    subscribers: [sealedSubscriber({ keys: toB })],
    synchronize: true,
  } as DataSourceOptions).initialize();
  const smallRows = Math.max(1000, Math.floor(rows / 10));
  try {
    await seed(ds, 'bench_rotation', rows, new Sealer(toA));
    await seed(ds, 'bench_rotation_small', smallRows, new Sealer(toA));
    const rotator: number[] = [];
    const raw: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      rotator.push(await time(() => new KeyRotator(ds, { entities: [RotationRow], batchSize: BATCH }).rotate())); // A -> B
      raw.push(await time(() => rawRewrite(ds, 'bench_rotation', new Sealer(toA)))); // B -> A
    }
    const peakHeapSmallMb = await peakLiveHeapMb((sample) =>
      new KeyRotator(ds, { entities: [SmallRotationRow], batchSize: BATCH, onProgress: sample }).rotate(),
    );
    const peakHeapLargeMb = await peakLiveHeapMb((sample) => new KeyRotator(ds, { entities: [RotationRow], batchSize: BATCH, onProgress: sample }).rotate());
    return {
      dialect,
      rows,
      rotatorRowsPerSec: rows / (median(rotator) / 1000),
      rawRowsPerSec: rows / (median(raw) / 1000),
      peakHeapSmallMb,
      peakHeapLargeMb,
      smallRows,
    };
  } finally {
    await ds.query('DROP TABLE IF EXISTS bench_rotation');
    await ds.query('DROP TABLE IF EXISTS bench_rotation_small');
    await ds.destroy();
  }
}

async function seed(ds: DataSource, table: string, rows: number, sealer: Sealer): Promise<void> {
  await ds.query(`DELETE FROM ${table}`);
  const binding = bindingBytes(table, 'email');
  const p = placeholders(ds);
  for (let start = 0; start < rows; start += 1000) {
    const values = Array.from({ length: Math.min(1000, rows - start) }, (_, i) => sealer.seal(encodeValue(text(start + i, 40), 'string'), binding));
    await ds.query(`INSERT INTO ${table} (email) VALUES ${values.map((_, i) => `(${p(i + 1)})`).join(', ')}`, values);
  }
}

/** What a careful engineer would write by hand: keyset pages, re-seal, one UPDATE per page. */
async function rawRewrite(ds: DataSource, table: string, sealer: Sealer): Promise<void> {
  const binding = bindingBytes(table, 'email');
  const p = placeholders(ds);
  const runner = ds.createQueryRunner();
  try {
    let last = 0;
    for (;;) {
      const page: { id: number; email: string }[] = await runner.query(`SELECT id, email FROM ${table} WHERE id > ${p(1)} ORDER BY id LIMIT ${BATCH}`, [last]);
      if (page.length === 0) break;
      const params: unknown[] = [];
      const cases = page.map((row) => {
        params.push(row.id, sealer.seal(sealer.open(row.email, binding), binding));
        return `WHEN ${p(params.length - 1)} THEN ${p(params.length)}`;
      });
      const ids = page.map((row) => {
        params.push(row.id);
        return p(params.length);
      });
      await runner.startTransaction();
      await runner.query(`UPDATE ${table} SET email = CASE id ${cases.join(' ')} END WHERE id IN (${ids.join(', ')})`, params);
      await runner.commitTransaction();
      last = Number(page.at(-1)!.id);
    }
  } finally {
    await runner.release();
  }
}

function placeholders(ds: DataSource): (i: number) => string {
  return ds.driver.options.type === 'postgres' ? (i) => `$${i}` : () => '?';
}
