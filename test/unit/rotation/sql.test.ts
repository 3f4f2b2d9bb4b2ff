// The rotator's SQL, exactly, per dialect (built from DataSources that never connect).
import 'reflect-metadata';
import { DataSource, Entity, PrimaryColumn, type DataSourceOptions } from 'typeorm';
import { Encrypted } from '../../../src';
import { dialectOf } from '../../../src/rotation/dialect';
import { ColumnSql } from '../../../src/rotation/sql';
import { sealedColumnsOf } from '../../../src/metadata/column-plan';

@Entity('member')
class Member {
  @PrimaryColumn({ type: 'int' }) org!: number;
  @PrimaryColumn({ type: 'varchar', length: 32 }) name!: string;
  @Encrypted() email!: string;
}

async function columnSql(options: DataSourceOptions): Promise<ColumnSql> {
  const ds = new DataSource({ ...options, entities: [Member] } as DataSourceOptions);
  await (ds as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
  const metadata = ds.getMetadata(Member);
  return new ColumnSql(ds, metadata, sealedColumnsOf(metadata)[0]!);
}

const M = '/* typeorm-sealed */';
const cases: [string, DataSourceOptions, Record<string, string | undefined>][] = [
  [
    'postgres',
    { type: 'postgres', database: 'never-connected' },
    {
      rotate: `(SUBSTR(CAST("email" AS text), 1, 7) = 'sealed:') AND NOT (SUBSTR(CAST("email" AS text), 1, 20) = 'sealed:1:x:abcdef01:')`,
      batch: `SELECT "org" AS k0, "name" AS k1, "email" AS v FROM "member" WHERE "email" IS NOT NULL AND 1 = 1 AND ("org", "name") > ($1, $2) ORDER BY "org", "name" LIMIT 500 FOR UPDATE SKIP LOCKED ${M}`,
      swap: `UPDATE "member" SET "email" = CASE WHEN "org" = $1 AND "name" = $2 THEN $3 END WHERE ("org", "name") IN (($1, $2)) AND "email" = CASE WHEN "org" = $1 AND "name" = $2 THEN $4 END ${M}`,
      lock: undefined,
    },
  ],
  [
    'mariadb',
    { type: 'mariadb', database: 'never-connected' },
    {
      rotate: "(SUBSTR(`email`, 1, 7) = BINARY 'sealed:') AND NOT (SUBSTR(`email`, 1, 20) = BINARY 'sealed:1:x:abcdef01:')",
      batch: `SELECT \`org\` AS k0, \`name\` AS k1, \`email\` AS v FROM \`member\` WHERE \`email\` IS NOT NULL AND 1 = 1 AND (\`org\`, \`name\`) > (?, ?) ORDER BY \`org\`, \`name\` LIMIT 500 FOR UPDATE SKIP LOCKED ${M}`,
      swap: `UPDATE \`member\` SET \`email\` = CASE WHEN \`org\` = ? AND \`name\` = ? THEN ? END WHERE (\`org\`, \`name\`) IN ((?, ?)) AND \`email\` = BINARY CASE WHEN \`org\` = ? AND \`name\` = ? THEN ? END ${M}`,
      lock: undefined,
    },
  ],
  [
    'better-sqlite3',
    { type: 'better-sqlite3', database: ':memory:' },
    {
      rotate: `(SUBSTR("email", 1, 7) = 'sealed:') AND NOT (SUBSTR("email", 1, 20) = 'sealed:1:x:abcdef01:')`,
      // TypeORM's SQLite drivers write numbers into the SQL instead of binding them.
      batch: `SELECT "org" AS k0, "name" AS k1, "email" AS v FROM "member" WHERE "email" IS NOT NULL AND 1 = 1 AND ("org", "name") > (7, ?) ORDER BY "org", "name" LIMIT 500 ${M}`,
      swap: `UPDATE "member" SET "email" = CASE WHEN "org" = 7 AND "name" = ? THEN ? END WHERE ("org", "name") IN ((7, ?)) AND "email" = CASE WHEN "org" = 7 AND "name" = ? THEN ? END ${M}`,
      lock: `UPDATE "member" SET "email" = "email" WHERE 1 = 0 ${M}`,
    },
  ],
];

describe.each(cases)('rotation SQL on %s', (_name, options, expected) => {
  it('selects by exact prefix, pages by key with the dialect lock, and compare-and-swaps', async () => {
    const sql = await columnSql(options);
    expect(sql.needsWork('rotate', 'abcdef01')).toBe(expected.rotate);
    const [batch, batchParams] = sql.batchSql('1 = 1', [7, 'bob'], 500, 'skip');
    expect(batch).toBe(expected.batch);
    expect(batchParams).toEqual(options.type === 'better-sqlite3' ? ['bob'] : [7, 'bob']);
    const [swap, swapParams] = sql.swapSql([{ key: [7, 'bob'], previous: 'old', next: 'new' }]);
    expect(swap).toBe(expected.swap);
    expect(swapParams).toEqual(
      { postgres: [7, 'bob', 'new', 'old'], mariadb: [7, 'bob', 'new', 7, 'bob', 7, 'bob', 'old'], 'better-sqlite3': ['bob', 'new', 'bob', 'bob', 'old'] }[
        options.type as string
      ],
    );
    expect(sql.lockSql()).toBe(expected.lock);
  });
});

describe('dialect records', () => {
  it('share one record for the two SQLite drivers and for MySQL and MariaDB', () => {
    const of = (type: string) => dialectOf({ driver: { options: { type } } } as never);
    expect(of('sqlite')).toMatchObject({ binary: '', writeLockUpFront: true, lock: { skip: '', wait: '', none: '' } });
    expect(of('mysql').binary).toBe('BINARY ');
    expect(of('mariadb').binary).toBe('BINARY ');
  });

  it('refuse a driver without a record, naming the supported ones', () => {
    expect(() => dialectOf({ driver: { options: { type: 'cockroachdb' } } } as never)).toThrow(
      expect.objectContaining({
        code: 'SEALED_CONFIG',
        message: 'SEALED_CONFIG: the rotator does not support the "cockroachdb" driver; it supports postgres, mysql, mariadb, better-sqlite3, sqlite',
      }),
    );
  });
});
