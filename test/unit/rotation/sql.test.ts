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
      window: `SELECT "org" AS k0, "name" AS k1 FROM "member" WHERE ("org", "name") > ($1, $2) ORDER BY "org", "name" LIMIT 1 OFFSET 499 ${M}`,
      batch: `SELECT "org" AS k0, "name" AS k1, "email" AS v FROM "member" WHERE "email" IS NOT NULL AND 1 = 1 AND ("org", "name") > ($1, $2) AND ("org", "name") <= ($3, $4) ORDER BY "org", "name" FOR UPDATE SKIP LOCKED ${M}`,
      // A join on a VALUES list, keys cast to their column types (linear in the batch).
      swap: `UPDATE "member" AS t SET "email" = v.n FROM (VALUES (CAST($1 AS integer), CAST($2 AS character varying), $3, $4)) AS v(k0, k1, p, n) WHERE t."org" = v.k0 AND t."name" = v.k1 AND t."email" = v.p ${M}`,
      lock: undefined,
    },
  ],
  [
    'mariadb',
    { type: 'mariadb', database: 'never-connected' },
    {
      rotate: "(SUBSTR(`email`, 1, 7) = BINARY 'sealed:') AND NOT (SUBSTR(`email`, 1, 20) = BINARY 'sealed:1:x:abcdef01:')",
      window: `SELECT \`org\` AS k0, \`name\` AS k1 FROM \`member\` WHERE (\`org\`, \`name\`) > (?, ?) ORDER BY \`org\`, \`name\` LIMIT 1 OFFSET 499 ${M}`,
      batch: `SELECT \`org\` AS k0, \`name\` AS k1, \`email\` AS v FROM \`member\` WHERE \`email\` IS NOT NULL AND 1 = 1 AND (\`org\`, \`name\`) > (?, ?) AND (\`org\`, \`name\`) <= (?, ?) ORDER BY \`org\`, \`name\` FOR UPDATE SKIP LOCKED ${M}`,
      swap:
        'UPDATE `member` AS t JOIN (SELECT ? AS k0, ? AS k1, ? AS p, ? AS n) AS v ON t.`org` = v.k0 AND t.`name` = v.k1 SET t.`email` = v.n WHERE t.`email` = BINARY v.p ' +
        M,
      lock: undefined,
    },
  ],
  [
    'better-sqlite3',
    { type: 'better-sqlite3', database: ':memory:' },
    {
      rotate: `(SUBSTR("email", 1, 7) = 'sealed:') AND NOT (SUBSTR("email", 1, 20) = 'sealed:1:x:abcdef01:')`,
      // TypeORM's SQLite drivers write numbers into the SQL instead of binding them.
      window: `SELECT "org" AS k0, "name" AS k1 FROM "member" WHERE ("org", "name") > (7, ?) ORDER BY "org", "name" LIMIT 1 OFFSET 499 ${M}`,
      batch: `SELECT "org" AS k0, "name" AS k1, "email" AS v FROM "member" WHERE "email" IS NOT NULL AND 1 = 1 AND ("org", "name") > (7, ?) AND ("org", "name") <= (9, ?) ORDER BY "org", "name" ${M}`,
      swap: `UPDATE "member" AS t SET "email" = v.column4 FROM (VALUES (7, ?, ?, ?)) AS v WHERE t."org" = v.column1 AND t."name" = v.column2 AND t."email" = v.column3 ${M}`,
      lock: `UPDATE "member" SET "email" = "email" WHERE 1 = 0 ${M}`,
    },
  ],
];

describe.each(cases)('rotation SQL on %s', (_name, options, expected) => {
  it('selects by exact prefix, pages by key windows with the dialect lock, and compare-and-swaps', async () => {
    const sql = await columnSql(options);
    expect(sql.needsWork('rotate', 'abcdef01')).toBe(expected.rotate);
    expect(sql.windowEndSql([7, 'bob'], 500)[0]).toBe(expected.window);
    const [batch, batchParams] = sql.batchSql('1 = 1', { after: [7, 'bob'], upTo: [9, 'zed'] }, 'skip');
    expect(batch).toBe(expected.batch);
    expect(batchParams).toEqual(options.type === 'better-sqlite3' ? ['bob', 'zed'] : [7, 'bob', 9, 'zed']);
    const [swap, swapParams] = sql.swapSql([{ key: [7, 'bob'], previous: 'old', next: 'new' }]);
    expect(swap).toBe(expected.swap);
    expect(swapParams).toEqual(
      { postgres: [7, 'bob', 'old', 'new'], mariadb: [7, 'bob', 'old', 'new'], 'better-sqlite3': ['bob', 'old', 'new'] }[options.type as string],
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
