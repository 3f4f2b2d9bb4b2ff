import { inspect } from 'node:util';
import { Entity, PrimaryColumn, type DataSource } from 'typeorm';
import { Encrypted, generateKey, KeyRing, KeyRotator, sealedSubscriber, type RotationProgress } from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects, type Dialect } from './support/dialects';
import { ENTITIES, Membership, Note, User } from './support/entities';
import { sealFor } from './support/seal-for';
import { sealedColumnsOf } from '../../src/metadata/column-plan';
import { dialectOf } from '../../src/compat/dialect';
import { ColumnSql, swapLimits } from '../../src/rotation/sql';

const [k1, k2, k3] = [generateKey(), generateKey(), generateKey()];
const ring1 = new KeyRing({ active: k1 });
const ring2 = new KeyRing({ active: k2 });
const ring = new KeyRing({ active: k3, decryptOnly: [k1, k2] });
const ROWS = 23;

/** Row i: email under k1, k2, the active key or in plaintext; score NULL, plaintext, under k1 or k2. */
function seed(i: number): { login: string; email: string; score: string | null; expected: { email: string; score: number | null } } {
  const email = `user${i}@example.com`;
  const score = i % 4 === 0 ? null : i + 0.5;
  const emailStored = [
    sealFor(ring1, 'sealed_user', 'email', 'string', email),
    sealFor(ring2, 'sealed_user', 'email', 'string', email),
    sealFor(ring, 'sealed_user', 'email', 'string', email),
    email,
  ][i % 4]!;
  const scoreStored =
    score === null
      ? null
      : [String(score), sealFor(ring1, 'sealed_user', 'score', 'number', score), sealFor(ring2, 'sealed_user', 'score', 'number', score)][i % 3]!;
  return { login: `user${i}`, email: emailStored, score: scoreStored, expected: { email, score } };
}

async function insertRaw(ds: DataSource, rows: { login: string; email: string; score: string | null }[]): Promise<void> {
  // Stored forms (envelopes, plaintext text) go in as they are: no listeners, no sealing.
  await ds
    .createQueryBuilder()
    .insert()
    .into(User)
    .values(rows as never[])
    .callListeners(false)
    .execute();
}

describe.each(testDialects())('KeyRotator on %s', (dialect) => {
  let ds: DataSource;
  const seeds = Array.from({ length: ROWS }, (_, i) => seed(i));

  beforeEach(async () => {
    ds = await openDataSource(dialect, ENTITIES, [sealedSubscriber({ keys: ring })]);
    await insertRaw(
      ds,
      seeds.map(({ login, email, score }) => ({ login, email, score })),
    );
  });
  afterEach(() => {
    jest.restoreAllMocks();
    return ds?.destroy();
  });

  const readAll = async () => (await ds.getRepository(User).find({ order: { id: 'ASC' } })).map((u) => ({ email: u.email, score: u.score }));

  it('census counts NULL, plaintext and values per key id from the prefix', async () => {
    const census = await new KeyRotator(ds).census();
    const email = census.columns.find((c) => c.entity === 'User' && c.column === 'email')!;
    expect(email).toMatchObject({ total: ROWS, nulls: 0, plaintext: 5, malformed: 0, unknownKeyIds: [] });
    expect(email.byKeyId).toEqual({ [ring1.activeKeyId]: 6, [ring2.activeKeyId]: 6, [ring.activeKeyId]: 6 });
    const score = census.columns.find((c) => c.column === 'score')!;
    expect(score).toMatchObject({ total: ROWS, nulls: 6, plaintext: 6 });
    expect(census.columns.map((c) => `${c.entity}.${c.column}`)).toEqual(
      expect.arrayContaining(['User.email', 'User.address.street', 'Note.body', 'Child.secret', 'Child.memo', 'Membership.role']),
    );
  });

  it('rotate + encryptExisting leave every value under the active key, reading back equal', async () => {
    const progress: RotationProgress[] = [];
    const rotated = await new KeyRotator(ds, { batchSize: 4, onProgress: (p) => progress.push(p) }).rotate();
    // Plaintext is not under any key: rotate leaves it, and says so instead of claiming completion.
    expect(rotated).toMatchObject({ mode: 'rotate', status: 'incomplete', failures: [], failureGroups: [] });
    expect(rotated.columns.find((c) => c.column === 'email')).toMatchObject({
      examined: 12,
      rewritten: 12,
      conflicts: 0,
      failed: 0,
      plaintext: 5,
      remaining: 5,
      status: 'incomplete',
    });
    expect(rotated.warnings).toContain(
      'User.email: 5 plaintext values are not under any key; rotate leaves them: seal them with encryptExisting (CLI: encrypt-existing)',
    );
    // One report per window of 4 keys (23 rows: 5 full windows and the rest), counting matched rows.
    const done = progress.filter((p) => p.column === 'email').map((p) => p.done);
    expect(done).toHaveLength(6);
    expect(done).toEqual([...done].sort((x, y) => x - y));
    expect(done.at(-1)).toBe(12);
    expect(progress.every((p) => p.total >= 0 && p.rate >= 0)).toBe(true);

    const encrypted = await new KeyRotator(ds, { batchSize: 4 }).encryptExisting();
    expect(encrypted.status).toBe('complete');
    expect(encrypted.columns.find((c) => c.column === 'score')).toMatchObject({ rewritten: 6, remaining: 0 });

    const census = await new KeyRotator(ds).census();
    for (const c of census.columns.filter((c) => c.entity === 'User' && (c.column === 'email' || c.column === 'score'))) {
      expect(c.plaintext).toBe(0);
      expect(Object.keys(c.byKeyId)).toEqual([ring.activeKeyId]);
    }
    expect(await readAll()).toEqual(seeds.map((s) => s.expected));
    expect((await new KeyRotator(ds).verify()).status).toBe('complete');
    // A second run finds nothing to do, and now everything is under the active key.
    const again = await new KeyRotator(ds).rotate();
    expect(again.columns.every((c) => c.examined === 0 && c.remaining === 0)).toBe(true);
    expect(again.status).toBe('complete');
  });

  it('decryptAll writes plaintext that plain SQL reads back equal, and encryptExisting undoes it', async () => {
    const report = await new KeyRotator(ds, { batchSize: 5 }).decryptAll();
    expect(report.status).toBe('complete');
    expect(await rawColumn(ds, 'sealed_user', 'email')).toEqual(seeds.map((s) => s.expected.email).sort());
    const scores = (await rawColumn(ds, 'sealed_user', 'score'))
      .filter((v) => v !== null)
      .map(Number)
      .sort((a, b) => a - b);
    expect(scores).toEqual(
      seeds
        .map((s) => s.expected.score)
        .filter((v) => v !== null)
        .sort((a, b) => a! - b!),
    );
    expect((await new KeyRotator(ds).encryptExisting()).status).toBe('complete');
    expect(await readAll()).toEqual(seeds.map((s) => s.expected));
  });

  it('walks and compare-and-swaps a composite primary key', async () => {
    const memberships = Array.from({ length: 30 }, (_, i) => ({
      orgId: i % 3,
      member: `m${String(i).padStart(2, '0')}`,
      role: sealFor(i % 2 ? ring1 : ring2, 'sealed_membership', 'role', 'string', `role-${i}`),
    }));
    await ds.createQueryBuilder().insert().into(Membership).values(memberships).callListeners(false).execute();
    const report = await new KeyRotator(ds, { entities: [Membership], batchSize: 4 }).rotate();
    expect(report.status).toBe('complete');
    expect(report.columns).toEqual([expect.objectContaining({ entity: 'Membership', column: 'role', examined: 30, rewritten: 30, conflicts: 0 })]);
    const loaded = await ds.getRepository(Membership).find({ order: { orgId: 'ASC', member: 'ASC' } });
    expect(loaded).toHaveLength(30);
    for (const m of loaded) expect(m.role).toBe(`role-${Number(m.member.slice(1))}`);
    const census = (await new KeyRotator(ds, { entities: [Membership] }).census()).columns[0]!;
    expect(census.byKeyId).toEqual({ [ring.activeKeyId]: 30 });
  });

  it('tells envelopes from plaintext exactly, whatever the collation', async () => {
    const tricky = ['Sealed: yes', 'SEALED:1:X:DEADBEEF:abc', 'sealed'];
    await insertRaw(
      ds,
      tricky.map((email, i) => ({ login: `tricky${i}`, email, score: null })),
    );
    const email = async () => (await new KeyRotator(ds, { entities: [User] }).census()).columns.find((c) => c.column === 'email')!;
    expect(await email()).toMatchObject({ plaintext: 5 + 3, malformed: 0 });
    expect((await new KeyRotator(ds, { entities: [User] }).encryptExisting()).status).toBe('complete');
    expect(await email()).toMatchObject({ plaintext: 0, malformed: 0 });
    const loaded = await ds.getRepository(User).find({ where: tricky.map((_, i) => ({ login: `tricky${i}` })), order: { login: 'ASC' } });
    expect(loaded.map((u) => u.email)).toEqual(tricky);
  });

  it('handles batches larger than a statement may carry parameters for', async () => {
    const many = Array.from({ length: 2600 }, (_, i) => ({
      login: `big${i}`,
      email: sealFor(ring1, 'sealed_user', 'email', 'string', `big${i}@example.com`),
      score: null,
    }));
    for (let i = 0; i < many.length; i += 500) await insertRaw(ds, many.slice(i, i + 500));
    const report = await new KeyRotator(ds, { batchSize: 100_000, entities: [User] }).rotate();
    expect(report.columns.find((c) => c.column === 'email')).toMatchObject({ rewritten: 2600 + 12, conflicts: 0, remaining: 5, plaintext: 5 });
  });

  it('splits compare-and-swap statements by bytes: large values go in several, each under the bound', async () => {
    // The bound lowered from 4 MiB so that a few 30 KB documents exceed it (MariaDB refuses a
    // statement past max_allowed_packet; without a bound, a batch of large values makes one).
    const bound = 150_000;
    jest.replaceProperty(swapLimits, 'maxBytes', bound);
    const execute = jest.spyOn(dialectOf(ds), 'execute');
    const documents = Array.from({ length: 8 }, (_, i) => JSON.stringify({ i, text: 'x'.repeat(30_000) }));
    const stored = documents.map((body, i) => ({ body: i < 4 ? sealFor(ring1, 'sealed_note', 'body', 'string', body) : body }));
    await ds.createQueryBuilder().insert().into(Note).values(stored).callListeners(false).execute();
    const statements = () => execute.mock.calls.splice(0).map(([, , parameters]) => parameters);
    const bytes = (parameters: readonly unknown[]) => parameters.reduce((sum: number, p) => sum + (typeof p === 'string' ? Buffer.byteLength(p) : 0), 0);

    // rotate: about 40 KB + 40 KB a row, one row a statement; encryptExisting: 30 KB + 40 KB, two.
    const rotated = await new KeyRotator(ds, { entities: [Note] }).rotate();
    expect(rotated.columns[0]).toMatchObject({ examined: 4, rewritten: 4, conflicts: 0, failed: 0 });
    const rotations = statements();
    expect(rotations).toHaveLength(4);
    const encrypted = await new KeyRotator(ds, { entities: [Note] }).encryptExisting();
    expect(encrypted.columns[0]).toMatchObject({ examined: 4, rewritten: 4, conflicts: 0, failed: 0, status: 'complete' });
    const encryptions = statements();
    expect(encryptions).toHaveLength(2);
    for (const parameters of [...rotations, ...encryptions]) expect(bytes(parameters)).toBeLessThanOrEqual(bound);

    expect((await ds.getRepository(Note).find({ order: { id: 'ASC' } })).map((n) => n.body)).toEqual(documents);
    expect((await new KeyRotator(ds, { entities: [Note] }).census()).columns[0]!.byKeyId).toEqual({ [ring.activeKeyId]: 8 });
  });

  it('dryRun counts what it would write and writes nothing', async () => {
    const before = await rawColumn(ds, 'sealed_user', 'email');
    const report = await new KeyRotator(ds, { dryRun: true }).rotate();
    // remaining: what a real run would leave (the 5 plaintext values); conflicts never negative.
    expect(report).toMatchObject({ dryRun: true, status: 'incomplete' });
    expect(report.columns.find((c) => c.column === 'email')).toMatchObject({ rewritten: 12, conflicts: 0, remaining: 5 });
    expect(report.columns.every((c) => c.conflicts === 0)).toBe(true);
    expect(await rawColumn(ds, 'sealed_user', 'email')).toEqual(before);
    expect((await new KeyRotator(ds).encryptExisting()).status).toBe('complete');
    const clean = await new KeyRotator(ds, { dryRun: true }).rotate();
    expect(clean).toMatchObject({ dryRun: true, status: 'complete' });
    expect(clean.columns.every((c) => c.remaining === 0 && c.conflicts === 0)).toBe(true);
  });

  it('never rewrites a value it cannot open: stops by default, reports with stopOnFailure: false', async () => {
    const [victim] = (await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: 'user9' })) as string[];
    const tampered = victim!.slice(0, -6) + (victim!.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
    await rawUpdate(ds, 'sealed_user', 'email', tampered, { column: 'login', value: 'user9' });

    const stopped = await new KeyRotator(ds, { batchSize: 4 }).rotate();
    expect(stopped.status).toBe('stopped');
    expect(stopped.failures).toEqual([
      expect.objectContaining({ entity: 'User', column: 'email', primaryKey: 'id=10', keyId: ring2.activeKeyId, code: 'SEALED_TAMPERED' }),
    ]);
    expect(JSON.stringify(stopped)).not.toContain('user9@example.com');
    expect((await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: 'user9' }))[0]).toBe(tampered);

    const reported = await new KeyRotator(ds, { stopOnFailure: false }).rotate();
    expect(reported.status).toBe('failed');
    expect(reported.columns.find((c) => c.column === 'email')).toMatchObject({ failed: 1, remaining: 1 + 5 });
    expect(reported.failureGroups).toEqual([
      { entity: 'User', column: 'email', code: 'SEALED_TAMPERED', reason: expect.stringContaining('authentication failed'), count: 1, samples: ['id=10'] },
    ]);
    expect((await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: 'user9' }))[0]).toBe(tampered);
    const census = (await new KeyRotator(ds).census()).columns.find((c) => c.column === 'email')!;
    expect(census.byKeyId).toEqual({ [ring.activeKeyId]: 17, [ring2.activeKeyId]: 1 });
  });

  it('decryptAll leaves sealed a value whose plaintext starts with "sealed:", reports it and goes on, run after run', async () => {
    const [a, b] = (await ds.getRepository(User).find({ select: { id: true }, order: { id: 'ASC' }, take: 2 })).map((u) => u.id);
    await rawUpdate(ds, 'sealed_user', 'email', sealFor(ring, 'sealed_user', 'email', 'string', 'sealed: deal closed'), { column: 'id', value: a });
    await rawUpdate(ds, 'sealed_user', 'email', 'sealed: written before by something else', { column: 'id', value: b });
    await ds.getRepository(Note).insert({ body: 'note body' });
    for (let run = 0; run < 2; run++) {
      const report = await new KeyRotator(ds).decryptAll(); // stopOnFailure is on by default
      expect(report.status).toBe('failed');
      expect(report.failureGroups.map((g) => [g.column, g.code, g.count])).toEqual([
        ['email', 'SEALED_UNSUPPORTED_VALUE', 1],
        ['email', 'SEALED_MALFORMED', 1],
      ]);
      expect(report.failures.map((f) => f.message).join('\n')).not.toContain('deal closed');
      // Every other column, of every entity, was decrypted.
      expect(report.columns.filter((c) => c.column !== 'email').every((c) => c.status === 'complete')).toBe(true);
      expect(report.columns.find((c) => c.entity === 'Note')).toMatchObject({ remaining: 0, status: 'complete' });
      expect(report.columns.find((c) => c.column === 'email')).toMatchObject({ failed: 2, remaining: 2, status: 'failed' });
    }
    expect(await rawColumn(ds, 'sealed_user', 'email', { column: 'id', value: a })).toEqual([expect.stringMatching(/^sealed:1:x:/)]);
    expect(await rawColumn(ds, 'sealed_user', 'email', { column: 'id', value: b })).toEqual(['sealed: written before by something else']);
  });

  it('reports plaintext that starts with "sealed:" as malformed in encryptExisting, without sealing it', async () => {
    await rawUpdate(ds, 'sealed_user', 'email', 'sealed: looks like an envelope', { column: 'login', value: 'user3' });
    const report = await new KeyRotator(ds, { entities: [User] }).encryptExisting();
    expect(report.status).toBe('incomplete');
    expect(report.columns.find((c) => c.column === 'email')).toMatchObject({ malformed: 1, remaining: 1, plaintext: 0 });
    expect(report.warnings.join('\n')).toContain('User.email: 1 values start with "sealed:" but are not envelopes');
    expect(await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: 'user3' })).toEqual(['sealed: looks like an envelope']);
  });

  it('refuses to start when the data holds key ids the ring lacks, writing nothing', async () => {
    const stranger = new KeyRing({ active: generateKey() });
    await rawUpdate(ds, 'sealed_user', 'email', sealFor(stranger, 'sealed_user', 'email', 'string', 'x'), { column: 'login', value: 'user1' });
    const before = await rawColumn(ds, 'sealed_user', 'email');
    await expect(new KeyRotator(ds).rotate()).rejects.toMatchObject({
      code: 'SEALED_WRONG_KEY',
      keyId: stranger.activeKeyId,
      message: expect.stringContaining('User.email'),
    });
    await expect(new KeyRotator(ds).decryptAll()).rejects.toMatchObject({ code: 'SEALED_WRONG_KEY' });
    expect(await rawColumn(ds, 'sealed_user', 'email')).toEqual(before);
    const verify = await new KeyRotator(ds, { stopOnFailure: false }).verify();
    expect(verify.failures).toEqual([expect.objectContaining({ code: 'SEALED_WRONG_KEY', column: 'email' })]);
    expect(verify.columns.find((c) => c.column === 'email')).toMatchObject({ examined: ROWS, plaintext: 5, failed: 1 });
  });

  it('compare-and-swap writes only rows that still hold the value read, matching exactly', async () => {
    const metadata = ds.getMetadata(User);
    const sql = new ColumnSql(
      ds,
      metadata,
      sealedColumnsOf(metadata).find((c) => c.path === 'email')!,
    );
    const [a, b, c] = (await ds.getRepository(User).find({ select: { id: true }, order: { id: 'ASC' }, take: 3 })).map((u) => u.id);
    const stored = async (id: number) => (await rawColumn(ds, 'sealed_user', 'email', { column: 'id', value: id }))[0] as string;
    const [va, vb, vc] = [await stored(a!), await stored(b!), await stored(c!)];
    const flippedCase = vc.slice(0, -1) + (vc.at(-1) === vc.at(-1)!.toUpperCase() ? vc.at(-1)!.toLowerCase() : vc.at(-1)!.toUpperCase());
    const runner = ds.createQueryRunner();
    try {
      const written = await sql.swapMany(runner, [
        { key: [a], previous: va, next: 'sealed:1:x:00000000:new-a' },
        { key: [b], previous: 'stale', next: 'sealed:1:x:00000000:new-b' },
        { key: [c], previous: flippedCase, next: 'sealed:1:x:00000000:new-c' },
      ]);
      expect(written).toBe(vc === flippedCase ? 2 : 1);
    } finally {
      await runner.release();
    }
    expect([await stored(a!), await stored(b!), await stored(c!)]).toEqual(['sealed:1:x:00000000:new-a', vb, vc]);
  });

  it('turns a write the database refuses into SEALED_WRITE_FAILED with the driver code and no value, changing no row', async () => {
    // A trigger (a CHECK on PostgreSQL) refuses envelopes in the column, so the compare-and-swap of
    // encryptExisting fails. Drivers copy values into such errors (mysql2 inlines the parameters,
    // the plaintext among them, into err.sql); none of that may reach the rotator's error.
    const refuse: Record<typeof dialect, string[]> = {
      sqlite: [
        `CREATE TRIGGER no_envelopes BEFORE UPDATE OF email ON sealed_user WHEN NEW.email LIKE 'sealed:%' BEGIN SELECT RAISE(ABORT, 'no envelopes'); END`,
      ],
      postgres: [`ALTER TABLE sealed_user ADD CONSTRAINT no_envelopes CHECK (email NOT LIKE 'sealed:%') NOT VALID`],
      mariadb: [
        `CREATE TRIGGER no_envelopes BEFORE UPDATE ON sealed_user FOR EACH ROW BEGIN IF NEW.email LIKE 'sealed:%' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no envelopes'; END IF; END`,
      ],
    };
    for (const statement of refuse[dialect]) await ds.query(statement);
    const before = await rawColumn(ds, 'sealed_user', 'email');
    let error: unknown;
    try {
      await new KeyRotator(ds, { entities: [User] }).encryptExisting();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'SealedError', code: 'SEALED_WRITE_FAILED', entity: 'User', column: 'email' });
    expect((error as { driverCode?: string }).driverCode).toMatch(/^(SQLITE_CONSTRAINT\w*|23514|1644)$/);
    const shown = `${(error as Error).message}\n${(error as Error).stack}\n${JSON.stringify(error)}\n${inspect(error, { showHidden: true, depth: 8 })}`;
    expect(shown).not.toContain('@example.com');
    expect(shown).not.toContain('sealed:1:');
    if (dialect === 'postgres') await ds.query('ALTER TABLE sealed_user DROP CONSTRAINT no_envelopes');
    else await ds.query('DROP TRIGGER no_envelopes');
    expect(await rawColumn(ds, 'sealed_user', 'email')).toEqual(before);
  });

  it('does not lose application updates made during a rotation', async () => {
    const repo = ds.getRepository(User);
    const ids = (await repo.find({ select: { id: true }, order: { id: 'ASC' } })).map((u) => u.id);
    const expected = new Map(ids.map((id, i) => [id, seeds[i]!.expected.email]));
    let writes = 0;
    const app = (async () => {
      for (let round = 0; round < 40; round++) {
        const id = ids[(round * 7) % ids.length]!;
        const email = `app-${round}@example.com`;
        await repo.update({ id }, { email });
        expected.set(id, email);
        writes++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const rotation = new KeyRotator(ds, { batchSize: 2 }).rotate();
    const [report] = await Promise.all([rotation, app]);
    expect(writes).toBe(40);
    expect(report.failures).toEqual([]);
    const after = await repo.find({ select: { id: true, email: true }, order: { id: 'ASC' } });
    expect(after.map((u) => u.email)).toEqual(ids.map((id) => expected.get(id)));
  });
});

const servers = testDialects().filter((d) => d !== 'sqlite');
if (servers.length > 0) {
  describe.each(servers)('two KeyRotators at once on %s', (dialect) => {
    it('take disjoint rows: every row is rewritten exactly once', async () => {
      const a = await openDataSource(dialect, ENTITIES, [sealedSubscriber({ keys: ring })]);
      const b = await openDataSource(dialect, ENTITIES, []); // same database, no schema reset after a's
      try {
        const rows = Array.from({ length: 300 }, (_, i) => ({
          login: `bulk${i}`,
          email: sealFor(ring1, 'sealed_user', 'email', 'string', `bulk${i}@example.com`),
          score: null,
        }));
        await insertRaw(a, rows);
        const [ra, rb] = await Promise.all([new KeyRotator(a, { batchSize: 10 }).rotate(), new KeyRotator(b, { keys: ring, batchSize: 10 }).rotate()]);
        const rewritten = (r: typeof ra) => r.columns.find((c) => c.column === 'email')!.rewritten;
        expect(rewritten(ra) + rewritten(rb)).toBe(300);
        expect([ra.status, rb.status]).toEqual(['complete', 'complete']);
        const emails = (await a.getRepository(User).find({ order: { id: 'ASC' } })).map((u) => u.email);
        expect(emails).toEqual(rows.map((_, i) => `bulk${i}@example.com`));
      } finally {
        await a.destroy();
        await b.destroy();
      }
    });
  });
}

/**
 * A table whose primary key the driver reads back changed, so that a compare-and-swap by the key
 * read finds no row: microseconds cut to the milliseconds of a JavaScript Date (PostgreSQL
 * timestamp(6), MariaDB datetime(6)); on SQLite, integers past 2^53 rounded to a double.
 */
function lossyKeyEntity(dialect: Dialect) {
  @Entity('sealed_stamped')
  class Stamped {
    @PrimaryColumn(dialect === 'sqlite' ? { type: 'bigint' } : { type: dialect === 'postgres' ? 'timestamp' : 'datetime', precision: 6 })
    stamp!: Date | number;

    @Encrypted({ valueType: 'string' })
    note!: string;
  }
  return Stamped;
}

describe.each(testDialects())('KeyRotator and primary keys it cannot match exactly, on %s', (dialect) => {
  const Stamped = lossyKeyEntity(dialect);
  let ds: DataSource;
  // In key order: 2 exact keys, 1 inexact key, 3 inexact keys that all read back as the same key
  // (on PostgreSQL and MariaDB, a key window ending among them reads back as its own start, so the
  // walk must widen it to move on), 1 exact key.
  const keys =
    dialect === 'sqlite'
      ? ['1', '2', `${2n ** 60n + 1n}`, `${2n ** 61n + 1n}`, `${2n ** 61n + 2n}`, `${2n ** 61n + 3n}`, '3000000000000000000']
      : ['00.250000', '01.500000', '02.000123', '03.000001', '03.000002', '03.000003', '04.000000'].map((s) => `'2024-05-01 10:00:${s}'`);
  /** How the report renders the key of row `i` as read back: the integer rounded to a double, the Date cut to milliseconds. */
  const shown = (i: number) =>
    dialect === 'sqlite'
      ? `stamp=${Number(keys[i])}`
      : `stamp=${new Date(2024, 4, 1, 10, 0, 0, Math.floor(Number(keys[i]!.slice(18, -1)) * 1000)).toISOString()}`;
  const inexact = [2, 3, 4, 5];

  beforeEach(async () => {
    ds = await openDataSource(dialect, [Stamped], [sealedSubscriber({ keys: ring })]);
    const q = (name: string) => ds.driver.escape(name);
    await ds.query(`INSERT INTO ${q('sealed_stamped')} (${q('stamp')}, ${q('note')}) VALUES ${keys.map((k, i) => `(${k}, 'note-${i}')`).join(', ')}`);
  });
  afterEach(() => ds?.destroy());

  it('reports rows the compare-and-swap cannot find as SEALED_CONFIG failures, examining each row once, run after run', async () => {
    for (let run = 0; run < 2; run++) {
      const report = await new KeyRotator(ds, { batchSize: 2, stopOnFailure: false }).encryptExisting();
      expect(report.status).toBe('failed');
      expect(report.columns).toEqual([
        expect.objectContaining({
          examined: run === 0 ? 7 : 4,
          rewritten: run === 0 ? 3 : 0,
          conflicts: 0,
          failed: 4,
          plaintext: 4,
          remaining: 4,
          status: 'failed',
        }),
      ]);
      expect(report.failures.map((f) => [f.code, f.primaryKey])).toEqual(inexact.map((i) => ['SEALED_CONFIG', shown(i)]));
      expect(report.failures[0]!.message).toBe(
        `SEALED_CONFIG: Stamped.note (${shown(2)}): the compare-and-swap UPDATE found no row by the primary key as the driver read it back, although the value had not changed: ` +
          'the primary key cannot be matched exactly (e.g. its precision, such as microseconds the driver rounds to milliseconds, or its collation or character set). ' +
          'The row was left as it was; give the table a key that reads back exactly, or have the driver read it as text',
      );
      expect(report.failureGroups).toEqual([expect.objectContaining({ code: 'SEALED_CONFIG', count: 4, samples: inexact.map(shown) })]);
      expect(JSON.stringify(report)).not.toContain('note-');
    }
    const notes = (await rawColumn(ds, 'sealed_stamped', 'note')) as string[];
    expect(notes.filter((n) => n.startsWith('note-')).sort()).toEqual(inexact.map((i) => `note-${i}`));
  });

  it('stops after the first batch with such a row by default', async () => {
    const report = await new KeyRotator(ds, { batchSize: 2 }).encryptExisting();
    expect(report.status).toBe('stopped');
    // SQLite: TypeORM writes the window's end into the SQL as JavaScript prints the rounded key
    // (2305843009213694000), past all rows of 2^61 + n: that window holds the four inexact keys.
    const failing = dialect === 'sqlite' ? inexact : [2];
    expect(report.failures.map((f) => [f.code, f.primaryKey])).toEqual(failing.map((i) => ['SEALED_CONFIG', shown(i)]));
    expect(report.columns[0]).toMatchObject({ examined: 2 + failing.length, rewritten: 2, conflicts: 0, failed: failing.length, status: 'stopped' });
    expect(((await rawColumn(ds, 'sealed_stamped', 'note')) as string[]).filter((n) => n.startsWith('note-'))).toHaveLength(5);
  });
});
