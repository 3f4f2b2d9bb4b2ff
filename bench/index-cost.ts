import 'reflect-metadata';
import { Column, Entity, Index, PrimaryGeneratedColumn, type Repository } from 'typeorm';
import { Encrypted, generateKey, KeyRing } from '../src';
import { blindIndexLength } from '../src/metadata/blind-index';
import { FieldCipher } from '../src/cipher/field-cipher';
import { sealedColumnsOf } from '../src/metadata/column-plan';
import { open, type Dialect } from './contenders';
import { median, text, time } from './measure';

const INDEX = { normalize: ['trim', 'lowercase', 'nfc'], unique: true } as const;

/** What the library declares for the index, as an ordinary column that the benchmark fills itself. */
const HandMadeIndex = (): PropertyDecorator => (target, property) => {
  Column({ type: 'varchar', length: blindIndexLength(128), nullable: true })(target, property);
  Index({ unique: true })(target, property);
};

/** One encrypted column: without a blind index, with one, and with a hand-filled column like it. */
@Entity('bench_index_email_off')
class EmailOff {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() email!: string;
}
@Entity('bench_index_email_on')
class EmailOn {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted({ index: INDEX }) email!: string;
}
@Entity('bench_index_email_hand')
class EmailHand {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() email!: string;
  @HandMadeIndex() emailBlindIndex!: string;
}

/** The row of the TypeORM paths scenarios (about 20, 40 and 200 bytes), without and with a blind index on `email`. */
@Entity('bench_index_row_off')
class RowOff {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() name!: string;
  @Encrypted() email!: string;
  @Encrypted() notes!: string;
}
@Entity('bench_index_row_on')
class RowOn {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() name!: string;
  @Encrypted({ index: INDEX }) email!: string;
  @Encrypted() notes!: string;
}
@Entity('bench_index_row_hand')
class RowHand {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() name!: string;
  @Encrypted() email!: string;
  @Encrypted() notes!: string;
  @HandMadeIndex() emailBlindIndex!: string;
}

export interface IndexCostResult {
  dialect: Dialect;
  shape: string;
  rows: number;
  /** Median ms of the bulk save(): without the blind index, with it, and with the hand-filled column instead. */
  offMs: number;
  onMs: number;
  handMs: number;
  /** Median ms of computing the same number of index values alone (normalise, encode, HMAC-SHA256). */
  indexValuesMs: number;
}

type Variant = 'off' | 'on' | 'hand';

const SHAPES: { shape: string; entities: Record<Variant, Function>; fields: (i: number) => Record<string, string> }[] = [
  { shape: 'email only', entities: { off: EmailOff, on: EmailOn, hand: EmailHand }, fields: (i) => ({ email: text(i + 1, 40) }) },
  {
    shape: 'name, email, notes',
    entities: { off: RowOff, on: RowOn, hand: RowHand },
    fields: (i) => ({ name: text(i, 20), email: text(i + 1, 40), notes: text(i + 2, 200) }),
  },
];

/**
 * What a blind index adds to a bulk insert (BENCHMARKS.md, "Blind index lookups"): save() of
 * `rows` new entities in chunks of 500, as in the TypeORM paths scenarios, into the same table
 * with `@Encrypted()` and with `@Encrypted({ index })` on `email`, for a one-column entity and
 * for the three-field benchmark row. A third variant has `@Encrypted()` and an ordinary unique
 * varchar column like the index column, filled with index values computed beforehand: what the
 * database and TypeORM charge for the column and its index, which no library can avoid. The
 * variants take turns within each repetition (after one repetition of warm-up); each repetition
 * also times the index values alone, computed by the library with nothing else.
 */
export async function indexCostBenchmarks(dialect: Dialect, sqliteFile: string, rows: number, reps: number): Promise<IndexCostResult[]> {
  const all = SHAPES.flatMap((s) => Object.values(s.entities));
  const ds = await open(dialect, sqliteFile, 'sealed', all[0]!, all.slice(1));
  const chunk = rows / 500 > 1 ? Math.ceil(rows / 500) : 1;
  const cipher = new FieldCipher(new KeyRing({ active: generateKey() }), { indexKeys: new KeyRing({ active: generateKey() }) });
  try {
    const results: IndexCostResult[] = [];
    for (const { shape, entities, fields } of SHAPES) {
      const sc = sealedColumnsOf(ds.getMetadata(entities.on)).find((c) => c.index)!;
      const emails = Array.from({ length: rows }, (_, i) => fields(i).email!);
      const handMade = emails.map((email) => cipher.index(sc, email));
      const make: Record<Variant, (i: number) => object> = { off: fields, on: fields, hand: (i) => ({ ...fields(i), emailBlindIndex: handMade[i] }) };
      const samples: Record<Variant, number[]> = { off: [], on: [], hand: [] };
      const indexValues: number[] = [];
      const variants = Object.keys(samples) as Variant[];
      for (let rep = 0; rep <= reps; rep++) {
        const counted = rep > 0; // repetition 0 warms up
        for (const v of rotate(variants, rep)) {
          const repo: Repository<object> = ds.getRepository<object>(entities[v]);
          await repo.clear();
          const batch = Array.from({ length: rows }, (_, i) => repo.create(make[v](i)));
          const ms = await time(() => repo.save(batch, { chunk }));
          if (counted) samples[v].push(ms);
        }
        const ms = await time(() => {
          for (const email of emails) cipher.index(sc, email);
        });
        if (counted) indexValues.push(ms);
      }
      for (const v of variants) await ds.getRepository(entities[v]).clear();
      results.push({
        dialect,
        shape,
        rows,
        offMs: median(samples.off),
        onMs: median(samples.on),
        handMs: median(samples.hand),
        indexValuesMs: median(indexValues),
      });
    }
    return results;
  } finally {
    for (const e of all) await ds.query(`DROP TABLE IF EXISTS ${ds.getMetadata(e).tableName}`);
    await ds.destroy();
  }
}

/** The items in a different order each repetition. */
function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
