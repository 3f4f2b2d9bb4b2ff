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

/** An auto-increment primary key column definition. */
const SERIAL: Record<Dialect, string> = {
  postgres: 'serial PRIMARY KEY',
  mariadb: 'int AUTO_INCREMENT PRIMARY KEY',
  sqlite: 'integer PRIMARY KEY AUTOINCREMENT',
};

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

  it('a dry run refuses a column not widened yet; once widened, TypeORM-stored booleans (0/1, true/false) convert and nothing is listed to fix', async () => {
    // vip is boolean (PostgreSQL), tinyint (MariaDB), boolean (SQLite: numeric affinity); phone and code are varchar.
    await expect(new KeyRotator(ds, { dryRun: true, stopOnFailure: false }).encryptExisting()).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      entity: 'LegacyAccount',
      column: 'vip',
      message: expect.stringContaining('widenColumn'),
    });
    const runner = ds.createQueryRunner();
    try {
      await widenColumn(runner, 'legacy_account', 'vip');
    } finally {
      await runner.release();
    }
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

  it('widenColumn and encryptExisting in one migration transaction on one query runner seal every value', async () => {
    // What TypeORM does around a migration's up(). MariaDB/MySQL commit a transaction at every ALTER
    // TABLE: widenColumn starts a new one, or the rotator's savepoints would find no transaction.
    const runner = ds.createQueryRunner();
    try {
      await runner.startTransaction();
      for (const column of ['phone', 'code', 'vip']) await widenColumn(runner, 'legacy_account', column);
      expect(runner.isTransactionActive).toBe(true);
      const report = await KeyRotator.forMigration(runner).encryptExisting();
      expect(report).toMatchObject({ status: 'complete', failureGroups: [], warnings: [] });
      await runner.commitTransaction();
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }
    const loaded = await ds.getRepository(LegacyAccount).find({ order: { id: 'ASC' } });
    expect(loaded.map(({ phone, code, vip }) => ({ phone, code, vip }))).toEqual(ROWS);
    for (const column of ['phone', 'code', 'vip']) {
      const stored = (await rawColumn(ds, 'legacy_account', column)).filter((v) => v !== null);
      expect(stored).toHaveLength(column === 'code' ? 3 : 2);
      for (const v of stored) expect(v).toMatch(/^sealed:1:x:/);
    }
  }, 60_000);

  it('widenColumn drops the column default: a row inserted without the column gets NULL, never a plaintext default', async () => {
    const q = (n: string) => ds.driver.escape(n);
    await ds.query(`CREATE TABLE ${q('legacy_plan')} (${q('id')} ${SERIAL[dialect]}, ${q('plan')} varchar(10) DEFAULT 'basic')`);
    await ds.query(`INSERT INTO ${q('legacy_plan')} (${q('plan')}) VALUES ('gold')`);
    const runner = ds.createQueryRunner();
    try {
      await widenColumn(runner, 'legacy_plan', 'plan');
      const column = (await runner.getTable('legacy_plan'))!.findColumnByName('plan')!;
      expect({ type: column.type, default: column.default }).toEqual({ type: 'text', default: undefined });
    } finally {
      await runner.release();
    }
    await ds.query(`INSERT INTO ${q('legacy_plan')} (${q('id')}) VALUES (${dialect === 'postgres' ? 'DEFAULT' : 'NULL'})`);
    expect(await rawColumn(ds, 'legacy_plan', 'plan')).toEqual(dialect === 'postgres' ? ['gold', null] : [null, 'gold']);
  }, 60_000);

  it.each([
    { covering: 'a unique constraint on the column', name: 'uq_member_email', inTable: true },
    { covering: 'a unique index on the column and another', name: 'ix_member_org_email', inTable: false },
    { covering: 'a unique index on an expression of the column', name: 'ix_member_lower_email', inTable: false, expression: true },
    { covering: 'an exclusion constraint (PostgreSQL)', name: 'ex_member_email', inTable: false, exclusion: true },
  ])(
    'widenColumn refuses a column covered by $covering, naming it, and changes nothing',
    async ({ name, inTable, expression, exclusion }) => {
      // MariaDB has no unique index on an expression of a column, nor exclusion constraints; SQLite no exclusion constraints.
      if ((expression && dialect === 'mariadb') || (exclusion && dialect !== 'postgres')) return;
      const q = (n: string) => ds.driver.escape(n);
      const constraint = inTable ? `, CONSTRAINT ${q(name)} UNIQUE (${q('email')})` : '';
      await ds.query(
        `CREATE TABLE ${q('legacy_member')} (${q('id')} ${SERIAL[dialect]}, ${q('org')} integer NOT NULL, ${q('email')} varchar(100)${constraint})`,
      );
      if (expression) await ds.query(`CREATE UNIQUE INDEX ${q(name)} ON ${q('legacy_member')} (lower(${q('email')}))`);
      else if (exclusion) await ds.query(`ALTER TABLE ${q('legacy_member')} ADD CONSTRAINT ${q(name)} EXCLUDE (${q('email')} WITH =)`);
      else if (!inTable) await ds.query(`CREATE UNIQUE INDEX ${q(name)} ON ${q('legacy_member')} (${q('org')}, ${q('email')})`);
      await ds.query(`INSERT INTO ${q('legacy_member')} (${q('org')}, ${q('email')}) VALUES (1, 'a@example.com'), (1, 'b@example.com')`);
      const runner = ds.createQueryRunner();
      try {
        const refused = widenColumn(runner, 'legacy_member', 'email');
        await expect(refused).rejects.toMatchObject({ code: 'SEALED_CONFIG', name: 'SealedError' });
        await expect(refused).rejects.toThrow(new RegExp(`legacy_member.*email.*${name}.*blind index`));
        const column = (await runner.getTable('legacy_member'))!.findColumnByName('email')!;
        expect([column.type, column.length]).toEqual([dialect === 'postgres' ? 'character varying' : 'varchar', '100']);
        await expect(widenColumn(runner, 'legacy_member', 'id')).rejects.toThrow(/legacy_member\.id is in the primary key/);
      } finally {
        await runner.release();
      }
      expect(await rawColumn(ds, 'legacy_member', 'email')).toEqual(['a@example.com', 'b@example.com']);
    },
    60_000,
  );

  it('census and encryptExisting warn about a column that changeColumn emptied', async () => {
    const runner = ds.createQueryRunner();
    try {
      // What the README's old advice did: on PostgreSQL and MySQL a type change drops and re-adds the column.
      await runner.changeColumn('legacy_account', 'phone', new TableColumn({ name: 'phone', type: 'text', isNullable: true }));
      await widenColumn(runner, 'legacy_account', 'vip'); // the rotator refuses a boolean column
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
      const warning =
        'LegacyAccount.phone: every one of its 3 rows is NULL or empty (as expected of an optional field no row has set). If its type was just changed with queryRunner.changeColumn()';
      expect(census.warnings).toEqual([expect.stringContaining(warning)]);
      expect(encrypted.warnings).toEqual([expect.stringContaining(warning)]);
    }
  }, 60_000);
});

@Entity('legacy_profile')
class LegacyProfile {
  @PrimaryGeneratedColumn()
  id!: number;

  @Encrypted({ nullable: true, valueType: 'json' })
  settings!: { theme: string } | null;

  @Encrypted({ nullable: true, valueType: 'number' })
  visits!: number | null;
}

/** A legacy table whose columns have types that cannot hold envelopes until widened. */
const PROFILE_TYPES: Record<Dialect, { settings: string; visits: string }> = {
  postgres: { settings: 'jsonb', visits: 'integer' },
  mariadb: { settings: 'json', visits: 'int' }, // MariaDB's json is longtext with a json_valid check
  sqlite: { settings: 'json', visits: 'integer' },
};

describe.each(testDialects())('the rotator on a column not widened yet on %s', (dialect) => {
  let ds: DataSource;
  const q = (n: string) => ds.driver.escape(n);
  /** Every stored value, read with plain SQL. */
  const stored = async () => ({ settings: await rawColumn(ds, 'legacy_profile', 'settings'), visits: await rawColumn(ds, 'legacy_profile', 'visits') });

  beforeEach(async () => {
    ds = await openDataSource(dialect, [LegacyProfile], [sealedSubscriber({ keys, plaintextPassthrough: true })], ':memory:', { synchronize: false });
    const types = PROFILE_TYPES[dialect];
    await ds.query(`CREATE TABLE ${q('legacy_profile')} (${q('id')} ${SERIAL[dialect]}, ${q('settings')} ${types.settings}, ${q('visits')} ${types.visits})`);
    await ds.query(`INSERT INTO ${q('legacy_profile')} (${q('settings')}, ${q('visits')}) VALUES ('{"theme":"dark"}', 7), (NULL, NULL)`);
  }, 60_000);
  afterEach(() => ds?.destroy());

  async function widen(column: string): Promise<void> {
    const runner = ds.createQueryRunner();
    try {
      await widenColumn(runner, 'legacy_profile', column);
    } finally {
      await runner.release();
    }
  }

  it.each([{ dryRun: true }, { dryRun: false }])(
    'encryptExisting with dryRun $dryRun refuses each column until it is widened, and writes nothing',
    async ({ dryRun }) => {
      const before = await stored();
      const refusal = (column: string, type: string) => ({
        code: 'SEALED_CONFIG',
        entity: 'LegacyProfile',
        column,
        message: expect.stringMatching(new RegExp(`LegacyProfile\\.${column}: .*legacy_profile\\.${column} is ${type}\\b.*widenColumn`)),
      });
      await expect(new KeyRotator(ds, { dryRun }).encryptExisting()).rejects.toMatchObject(refusal('settings', PROFILE_TYPES[dialect].settings));
      expect(await stored()).toEqual(before);
      await widen('settings');
      const widened = await stored();
      await expect(new KeyRotator(ds, { dryRun }).encryptExisting()).rejects.toMatchObject(refusal('visits', PROFILE_TYPES[dialect].visits));
      expect(await stored()).toEqual(widened);
      await widen('visits');
      const report = await new KeyRotator(ds, { dryRun }).encryptExisting();
      expect(report).toMatchObject({ status: 'complete', failureGroups: [] });
      expect(report.columns.map((c) => c.rewritten)).toEqual([1, 1]);
      if (dryRun) return;
      expect(await ds.getRepository(LegacyProfile).find({ order: { id: 'ASC' } })).toEqual([
        { id: 1, settings: { theme: 'dark' }, visits: 7 },
        { id: 2, settings: null, visits: null },
      ]);
      for (const values of Object.values(await stored())) {
        expect(values.filter((v) => v !== null)).toEqual([expect.stringMatching(/^sealed:1:x:/)]);
      }
    },
    60_000,
  );

  it('census counts a column not widened yet (it only counts, with SQL)', async () => {
    const census = await new KeyRotator(ds).census();
    expect(census.columns.map(({ column, total, nulls, plaintext }) => ({ column, total, nulls, plaintext }))).toEqual([
      { column: 'settings', total: 2, nulls: 1, plaintext: 1 },
      { column: 'visits', total: 2, nulls: 1, plaintext: 1 },
    ]);
  }, 60_000);
});
