import { Entity, PrimaryGeneratedColumn, type DataSource, type Logger, type Repository } from 'typeorm';
import { Encrypted, generateKey, KeyRing, sealedRepository, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, testDialects } from './support/dialects';

const ROWS = 100_000;
const INDEX_VALUE = /^[0-9a-f]{8}:[0-9a-f]{32}$/;
const keys = new KeyRing({ active: generateKey() });
const indexKeys = new KeyRing({ active: generateKey() });
/** A cold, loaded 2-core machine: creating the schema and 100,000 rows can take far longer than here (a few seconds). */
const TIMEOUT = 180_000;

/** A login by e-mail address, as the README declares it. */
@Entity('sealed_explain_user')
class ExplainUser {
  @PrimaryGeneratedColumn() id!: number;

  @Encrypted({ index: { normalize: ['trim', 'lowercase', 'nfc'], unique: true } })
  email!: string;
}

/** Every statement TypeORM sends, with its parameters. */
class Recorder implements Logger {
  readonly queries: { query: string; parameters: unknown[] }[] = [];
  logQuery(query: string, parameters?: unknown[]): void {
    this.queries.push({ query, parameters: parameters ?? [] });
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** Every node of a plan tree, depth first. */
function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

// PostgreSQL only: EXPLAIN (FORMAT JSON) is its own. The 0.3 project runs SQLite alone, so there the suite is skipped.
const dialects = testDialects().filter((d) => d === 'postgres');
(dialects.length ? describe.each(dialects) : describe.skip.each(['postgres' as const]))('a blind index lookup on %s', (dialect) => {
  let ds: DataSource;
  let users: Repository<ExplainUser>;
  const recorder = new Recorder();
  const real = ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.com'];

  beforeAll(async () => {
    ds = await openDataSource(dialect, [ExplainUser], [sealedSubscriber({ keys, indexKeys })], undefined, { logger: recorder, logging: true });
    users = ds.getRepository(ExplainUser);
    const metadata = ds.getMetadata(ExplainUser);
    const q = (property: string) => ds.driver.escape(metadata.findColumnWithPropertyName(property)!.databaseName);
    // Most rows made up in SQL: index values of the right shape under the active index key (md5 gives
    // 32 hex digits, as 128 bits do), and a stand-in for the envelope that no lookup here reads.
    await ds.query(
      `INSERT INTO ${ds.driver.escape(metadata.tableName)} (${q('email')}, ${q('emailBlindIndex')})
       SELECT 'filler ' || g, $1 || ':' || md5(g::text) FROM generate_series(1, $2::int) AS g`,
      [indexKeys.activeKeyId, ROWS - real.length],
    );
    // A few real ones, sealed and indexed by the library.
    await users.save(real.map((email) => users.create({ email })));
    await ds.query(`ANALYZE ${ds.driver.escape(metadata.tableName)}`);
  }, TIMEOUT);
  afterAll(() => ds?.destroy());

  it(
    'finds a row with one SELECT that an index scan of the blind index answers, and never sends the plaintext',
    async () => {
      expect(await users.count()).toBe(ROWS);
      const index = ds.getMetadata(ExplainUser).indices.find((i) => i.columns.length === 1 && i.columns[0]!.propertyName === 'emailBlindIndex');
      expect(index?.isUnique).toBe(true);

      recorder.queries.length = 0;
      const found = await sealedRepository(users).findOneBy({ email: '  Carol@Example.COM ' });
      expect(found?.email).toBe('carol@example.com');

      const column = ds.getMetadata(ExplainUser).findColumnWithPropertyName('emailBlindIndex')!.databaseName;
      const selects = recorder.queries.filter((q) => /^\s*SELECT/i.test(q.query));
      expect(selects).toHaveLength(1);
      const [{ query, parameters }] = selects as [(typeof selects)[0]];
      expect(query).toContain(ds.driver.escape(column));
      expect(parameters).toHaveLength(1);
      expect(parameters[0]).toMatch(INDEX_VALUE);
      for (const sent of recorder.queries) expect(JSON.stringify(sent).toLowerCase()).not.toContain('carol');

      const [{ 'QUERY PLAN': plan }] = (await ds.query(`EXPLAIN (FORMAT JSON) ${query}`, parameters)) as [{ 'QUERY PLAN': [{ Plan: PlanNode }] }];
      const scans = nodesOf(plan[0].Plan).filter((n) => ['Index Scan', 'Index Only Scan', 'Bitmap Index Scan'].includes(n['Node Type']));
      expect(scans.map((n) => n['Index Name'])).toContain(index!.name);
      expect(nodesOf(plan[0].Plan).map((n) => n['Node Type'])).not.toContain('Seq Scan');
    },
    TIMEOUT,
  );
});
