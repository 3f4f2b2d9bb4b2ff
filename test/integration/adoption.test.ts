// Adopting encryption on a column that already holds plaintext: widen it in place, check what
// converts before deploying, seal the rest, and notice a column that a schema change emptied.
import { Entity, PrimaryGeneratedColumn, TableColumn, type DataSource } from 'typeorm';
import { Encrypted, generateKey, KeyRing, KeyRotator, sealedSubscriber, widenColumn } from 'typeorm-sealed';
import { openDataSource, rawColumn, testDialects, type Dialect } from './support/dialects';

@Entity('legacy_account')
class LegacyAccount {
  @PrimaryGeneratedColumn()
  id!: number;

  @Encrypted({ nullable: true, valueType: 'string' })
  phone!: string | null;

  @Encrypted({ valueType: 'string' })
  code!: string;

  @Encrypted({ nullable: true, valueType: 'boolean' })
  vip!: boolean | null;
}

const keys = new KeyRing({ active: generateKey() });

/** The table as the application had it before encryption, with TypeORM's own boolean storage. */
function legacyTable(dialect: Dialect, name: string): string {
  switch (dialect) {
    case 'postgres':
      return `CREATE TABLE "${name}" ("id" serial PRIMARY KEY, "phone" varchar(20), "code" varchar(10) NOT NULL, "vip" boolean)`;
    case 'mariadb':
      return `CREATE TABLE \`${name}\` (\`id\` int AUTO_INCREMENT PRIMARY KEY, \`phone\` varchar(20), \`code\` varchar(10) NOT NULL, \`vip\` tinyint(1))`;
    case 'sqlite':
      return `CREATE TABLE "${name}" ("id" integer PRIMARY KEY AUTOINCREMENT, "phone" varchar(20), "code" varchar(10) NOT NULL, "vip" boolean)`;
  }
}

const ROWS = [
  { phone: '+1 555 0100', code: 'A1', vip: true },
  { phone: '+44 20 7946', code: 'B2', vip: false },
  { phone: null, code: 'C3', vip: null },
];

describe.each(testDialects())('adopting encryption on %s', (dialect) => {
  let ds: DataSource;

  beforeEach(async () => {
    ds = await openDataSource(dialect, [LegacyAccount], [sealedSubscriber({ keys, plaintextPassthrough: true })], ':memory:', { synchronize: false });
    for (const table of ['legacy_account', 'legacy_copy']) {
      await ds.query(legacyTable(dialect, table));
      const q = (n: string) => ds.driver.escape(n);
      const p = (i: number) => (dialect === 'postgres' ? `$${i}` : '?');
      for (const row of ROWS) {
        await ds.query(`INSERT INTO ${q(table)} (${q('phone')}, ${q('code')}, ${q('vip')}) VALUES (${p(1)}, ${p(2)}, ${p(3)})`, [
          row.phone,
          row.code,
          row.vip === null ? null : dialect === 'postgres' ? row.vip : Number(row.vip),
        ]);
      }
    }
  }, 60_000);
  afterEach(() => ds?.destroy());

  it('a dry run before widening converts TypeORM-stored booleans (0/1, true/false) and lists nothing to fix', async () => {
    const report = await new KeyRotator(ds, { dryRun: true, stopOnFailure: false }).encryptExisting();
    expect(report.failureGroups).toEqual([]);
    expect(report.columns.map((c) => [c.column, c.rewritten])).toEqual([
      ['phone', 2],
      ['code', 3],
      ['vip', 2],
    ]);
    expect(report.status).toBe('complete');
  }, 60_000);

  it('widenColumn keeps every value and the nullability; encryptExisting then seals them all', async () => {
    const runner = ds.createQueryRunner();
    try {
      for (const column of ['phone', 'code', 'vip']) await widenColumn(runner, 'legacy_account', column);
      const table = (await runner.getTable('legacy_account'))!;
      expect(table.findColumnByName('code')!.isNullable).toBe(false);
      expect(table.findColumnByName('phone')!.isNullable).toBe(true);
      expect(table.columns.filter((c) => c.name !== 'id').map((c) => c.type)).toEqual(['text', 'text', 'text']);
    } finally {
      await runner.release();
    }
    expect((await rawColumn(ds, 'legacy_account', 'phone')).filter((v) => v !== null)).toEqual(['+1 555 0100', '+44 20 7946']);
    const report = await new KeyRotator(ds).encryptExisting();
    expect(report).toMatchObject({ status: 'complete', failureGroups: [], warnings: [] });
    const loaded = await ds.getRepository(LegacyAccount).find({ order: { id: 'ASC' } });
    expect(loaded.map(({ phone, code, vip }) => ({ phone, code, vip }))).toEqual(ROWS);
    expect(await rawColumn(ds, 'legacy_account', 'code')).toEqual([
      expect.stringMatching(/^sealed:1:x:/),
      expect.stringMatching(/^sealed:1:x:/),
      expect.stringMatching(/^sealed:1:x:/),
    ]);
  }, 60_000);

  it('census and encryptExisting warn about a column that changeColumn emptied', async () => {
    const runner = ds.createQueryRunner();
    try {
      // What the README's old advice did: on PostgreSQL and MySQL a type change drops and re-adds the column.
      await runner.changeColumn('legacy_account', 'phone', new TableColumn({ name: 'phone', type: 'text', isNullable: true }));
    } finally {
      await runner.release();
    }
    const census = await new KeyRotator(ds).census();
    const encrypted = await new KeyRotator(ds, { dryRun: true }).encryptExisting();
    if (dialect === 'sqlite') {
      // SQLite rebuilds the table and copies the rows: nothing is lost, nothing to warn about.
      expect(census.warnings).toEqual([]);
      expect(encrypted.warnings).toEqual([]);
    } else {
      expect(await rawColumn(ds, 'legacy_account', 'phone')).toEqual([null, null, null]);
      const warning = 'LegacyAccount.phone: every one of its 3 rows is NULL or empty. If its type was just changed with queryRunner.changeColumn()';
      expect(census.warnings).toEqual([expect.stringContaining(warning)]);
      expect(encrypted.warnings).toEqual([expect.stringContaining(warning)]);
    }
  }, 60_000);
});
