// The rotator's SQL, exactly, per dialect (built from DataSources that never connect).
import 'reflect-metadata';
import { DataSource, Entity, PrimaryColumn, type DataSourceOptions, type QueryRunner } from 'typeorm';
import { Encrypted } from '../../../src';
import { dialectOf } from '../../../src/compat/dialect';
import { ColumnSql, MAX_SWAP_BYTES, splitSwaps, swapLimits, type Swap } from '../../../src/rotation/sql';
import { sealedColumnsOf } from '../../../src/metadata/column-plan';

@Entity('member')
class Member {
  @PrimaryColumn({ type: 'int' }) org!: number;
  @PrimaryColumn({ type: 'varchar', length: 32 }) name!: string;
  @Encrypted({ index: { column: 'email_bidx' } }) email!: string;
}

async function columnSql(options: DataSourceOptions, target: 'value' | 'index' = 'value'): Promise<ColumnSql> {
  const ds = new DataSource({ ...options, entities: [Member] } as DataSourceOptions);
  await (ds as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
  const metadata = ds.getMetadata(Member);
  return new ColumnSql(ds, metadata, sealedColumnsOf(metadata)[0]!, target);
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
      // A CASE over the keys; WHERE ... IN finds the rows by the primary key index.
      swap:
        'UPDATE `member` SET `email` = CASE WHEN `org` = ? AND `name` = ? THEN IF(`email` = BINARY ?, ?, `email`) ELSE `email` END WHERE (`org`, `name`) IN ((?, ?)) ' +
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
      { postgres: [7, 'bob', 'old', 'new'], mariadb: [7, 'bob', 'old', 'new', 7, 'bob'], 'better-sqlite3': ['bob', 'old', 'new'] }[options.type as string],
    );
    expect(sql.lockSql()).toBe(expected.lock);
  });
});

describe.each(cases)('blind index walk SQL on %s', (_name, options) => {
  it("selects rows by the index value's key id, reads the index, and writes only the index, comparing the value", async () => {
    const sql = await columnSql(options, 'index');
    const q = (name: string) => (options.type === 'mariadb' ? `\`${name}\`` : `"${name}"`);
    expect(sql.needsWork('reindex', 'abcdef01')).toContain(`${q('email_bidx')} IS NULL OR NOT (SUBSTR(`);
    expect(sql.needsWork('reindex', 'abcdef01')).toContain(`, 1, 9) = ${options.type === 'mariadb' ? 'BINARY ' : ''}'abcdef01:')`);
    expect(sql.needsWork('verify', 'abcdef01')).toBe('1 = 1');
    expect(sql.batchSql('1 = 1', { after: undefined, upTo: undefined }, 'none')[0]).toContain(`${q('email')} AS v, ${q('email_bidx')} AS i FROM`);
    const [swap] = sql.swapSql([{ key: [7, 'bob'], previous: 'envelope', next: 'abcdef01:00' }]);
    // the index column is written; the value column is only compared
    if (options.type === 'mariadb') {
      expect(swap).toContain('SET `email_bidx` = CASE WHEN `org` = ? AND `name` = ? THEN IF(`email` = BINARY ?, ?, `email_bidx`) ELSE `email_bidx` END');
    } else {
      expect(swap).toMatch(/^UPDATE "member" AS t SET "email_bidx" = v\.\w+ FROM \(VALUES .* AND t\."email" = v\.\w+ /);
    }
    expect(swap).not.toMatch(/SET [`"]email[`"] =/);
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

describe('compare-and-swap statements', () => {
  afterEach(() => jest.restoreAllMocks());

  /** A swap whose parameters take `bytes` bytes: the key [1, 'm<i>'] (3 bytes) and two values. */
  const swap = (i: number, bytes: number): Swap => ({ key: [1, `m${i}`], previous: 'p'.repeat((bytes - 3) / 2), next: 'n'.repeat((bytes - 3) / 2) });
  const indices = (statements: Swap[][]) => statements.map((statement) => statement.map((w) => Number(String(w.key[1]).slice(1))));

  it('split by rows and by bytes of parameters; a row bigger than the bound goes alone', () => {
    const writes = [30_001, 30_001, 30_001, 30_001, 250_001, 10_001, 10_001].map((bytes, i) => swap(i, bytes));
    expect(indices(splitSwaps(writes, 1000, 100_000))).toEqual([[0, 1, 2], [3], [4], [5, 6]]);
    expect(indices(splitSwaps(writes, 2, 1_000_000))).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
    expect(splitSwaps([], 1000, 100)).toEqual([]);
    // Strings count as UTF-8, Buffers as their bytes, other values as their text.
    const mixed: Swap[] = [
      { key: [12], previous: 'é'.repeat(10), next: Buffer.alloc(20) }, // 2 + 20 + 20
      { key: [3], previous: null, next: 'x'.repeat(41) }, // 1 + 41
    ];
    expect(splitSwaps(mixed, 1000, 84).map((s) => s.length)).toEqual([2]);
    expect(splitSwaps(mixed, 1000, 83).map((s) => s.length)).toEqual([1, 1]);
    expect(MAX_SWAP_BYTES).toBe(4 * 1024 * 1024);
  });

  it.each(cases)('on %s carry at most the byte bound each (MariaDB: at most a quarter of max_allowed_packet, read once)', async (name, options) => {
    jest.replaceProperty(swapLimits, 'maxBytes', 100_000);
    const sql = await columnSql(options);
    const built = jest.spyOn(sql, 'swapSql');
    jest.spyOn(sql.dialect, 'execute').mockImplementation(async (_runner, _sql, parameters) => parameters.length);
    const query = jest.fn(async () => [{ n: 320_000 }]);
    const runner = { query } as unknown as QueryRunner;
    const writes = [30_001, 30_001, 30_001, 30_001, 250_001, 10_001].map((bytes, i) => swap(i, bytes));
    await sql.swapMany(runner, writes);
    await sql.swapMany(runner, writes.slice(0, 1));
    const statements = indices(built.mock.calls.map(([w]) => [...w]));
    if (name === 'mariadb') {
      // 320 000 / 4 = 80 000 bytes a statement.
      expect(statements).toEqual([[0, 1], [2, 3], [4], [5], [0]]);
      expect(query.mock.calls).toEqual([[`SELECT @@max_allowed_packet AS n ${M}`]]);
    } else {
      expect(statements).toEqual([[0, 1, 2], [3], [4], [5], [0]]);
      expect(query).not.toHaveBeenCalled();
    }
  });
});
