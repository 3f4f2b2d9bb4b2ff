// Rotation on a SQLite FILE while another process (a live application, test/integration/live-writer/
// writer.js) keeps writing to the same table, in the default rollback journal and in WAL mode.
//
// What it proves: KeyRotator.rotate() completes (every value under the active key, no failure), the
// application's writes all succeed (its busy timeout suffices), and none of them is lost: a row the
// application wrote keeps exactly the envelope it wrote (the rotator neither overwrote it with the
// row's old value re-sealed, nor re-sealed it), every other row reads back its original plaintext.
//
// Before each writing batch took SQLite's write lock up front and SQLite's busy errors were retried,
// this failed with "database is locked" (SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT in WAL): a deferred
// batch reads, and then cannot take the write lock because the application wrote in between; SQLite
// then returns SQLITE_BUSY at once, without calling the busy handler (waiting could deadlock).
//
// The writer is a separate OS process: better-sqlite3 is synchronous, so a second connection in this
// process would block the event loop that the rotator runs on (and sqlite3's thread pool) instead of
// competing with it. It runs in both jest projects: on TypeORM 1.x the rotator uses better-sqlite3,
// on 0.3 sqlite3. Either way its connection gets a 100 ms busy timeout, and the writer once holds
// the write lock for 1 s as the rotation starts: short waits are absorbed by SQLite's busy handler,
// the long one comes back as SQLITE_BUSY, which only the library's own retry gets past.
//
// Checked on scratch copies (never in src/): at 062fef8, before the fix, the four live-writer
// cases (2 journal modes x 2 TypeORM lines) fail with "database is locked" in the batch's
// compare-and-swap UPDATE; so they do with today's code changed to deferred batches and no SQLite
// retry. With the write lock taken up front but no retry they fail on the long request (in
// lockForWriting). With retries but deferred batches the rotation crawls (20-60 s) and mostly
// fails: 0.3 runs out of its 60 s of retries, 1.x WAL fails the check that the rotator met
// SQLITE_BUSY in lockForWriting (1.x rollback journal passed, after 31 s).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource, Logger } from 'typeorm';
import { generateKey, KeyRing, KeyRotator, sealedSubscriber, type RotationProgress, type RotationReport } from 'typeorm-sealed';
import { openDataSource, rawColumn, typeormLine } from './support/dialects';
import { ENTITIES, User } from './support/entities';
import { sealFor } from './support/seal-for';

const ROWS = 3000;
const TIMEOUT = 120_000;
/** Busy timeout of the rotator's connection, and how long the writer holds the write lock once. */
const ROTATOR_BUSY_TIMEOUT = 100;
const LONG_HOLD = 1000;
/** Milliseconds the progress callback takes after each batch of the email column. */
const PROGRESS_PAUSE = 10;
const WRITER = join(__dirname, 'live-writer', 'writer.js');
/** LIVE_ROTATION_DEBUG=1 prints what each case saw (rotation time, writes meanwhile, busy errors). */
const DEBUG = !!process.env.LIVE_ROTATION_DEBUG;

const [oldKey, newKey] = [generateKey(), generateKey()];
const oldRing = new KeyRing({ active: oldKey });
const ring = new KeyRing({ active: newKey, decryptOnly: [oldKey] });
const activeHeader = `sealed:1:x:${ring.activeKeyId}:`;

interface WriterResult {
  rounds: number;
  journalMode: string;
  errors: { round: number; code: string; message: string }[];
  /** [time after the commit, id, what] per committed write. */
  writes: [number, number, 'login' | 'email'][];
  logins: Record<string, string>;
  emails: Record<string, string>;
}

/** The writer process: its JSON lines, its exit, and a way to stop it. */
class LiveWriter {
  readonly messages: { event: string; rounds?: number }[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = '';
  private pending = '';
  private readonly watchers = new Set<() => void>();

  constructor(file: string, planFile: string) {
    this.child = spawn(process.execPath, [WRITER, file, planFile], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (this.pending + chunk).split('\n');
      this.pending = lines.pop()!;
      for (const line of lines) if (line.trim()) this.messages.push(JSON.parse(line));
      for (const watch of this.watchers) watch();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // 'close': the process exited and its stdout was read to the end.
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  get rounds(): number {
    return this.messages.reduce((n, m) => (m.event === 'progress' ? Math.max(n, m.rounds ?? 0) : n), 0);
  }

  /** Resolves once the writer has started at least `n` rounds. */
  reached(n: number, timeoutMs: number): Promise<void> {
    return this.until(() => this.rounds >= n, `${n} rounds`, timeoutMs);
  }

  /** Sends it a command line (`hold <ms> <id>`, `stop`). */
  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Resolves once it has said `{"event": event}`. */
  said(event: string, timeoutMs: number): Promise<void> {
    return this.until(() => this.messages.some((m) => m.event === event), `"${event}"`, timeoutMs);
  }

  private async until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (condition()) done(resolve);
      };
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        settle();
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`the writer did not reach ${what} in ${timeoutMs} ms (${this.rounds} rounds); stderr: ${this.stderr}`))),
        timeoutMs,
      );
      this.watchers.add(check);
      void this.exited.then(() => done(() => reject(new Error(`the writer exited before ${what}; stderr: ${this.stderr}`))));
      check();
    });
  }

  /** Closes its stdin (it stops after the round in progress) and returns what it reports. */
  async stop(timeoutMs: number): Promise<WriterResult> {
    this.child.stdin!.end('stop\n');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the writer did not stop in ${timeoutMs} ms`)), timeoutMs)));
    try {
      const { code, signal } = await Promise.race([this.exited, timeout]);
      if (code !== 0) throw new Error(`the writer exited with code ${code}, signal ${signal}; stderr: ${this.stderr}`);
    } finally {
      clearTimeout(timer);
    }
    const result = this.messages.find((m) => m.event === 'result');
    if (!result) throw new Error(`the writer reported no result; stderr: ${this.stderr}`);
    return result as unknown as WriterResult;
  }

  /** Kills it if it still runs, and waits until it has gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Counts the "database is locked" errors TypeORM logs for the rotator's connection. */
class BusyCounter implements Logger {
  busy = 0;
  logQueryError(error: string | Error): void {
    if (/SQLITE_BUSY|SQLITE_LOCKED|database is locked/i.test(String((error as Error)?.message ?? error))) this.busy++;
  }
  logQuery(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

/** One case's database, writer and data; `afterEach` cleans up whatever of it exists. */
interface Live {
  dir?: string;
  ds?: DataSource;
  writer?: LiveWriter;
}

/** What a case set up: the seeded rows and what the writer may write. */
interface Seeded {
  ds: DataSource;
  writer: LiveWriter;
  busy: BusyCounter;
  ids: number[];
  /** The stored (old-key) email of row i. */
  seeded: string[];
  /** Per id the writer may write the email of, the active-key envelope of writer-<id>@example.com it writes. */
  sealed: Record<number, string>;
  /** The last row: only the long request writes it. */
  held: number;
}

const original = (i: number) => `user${i}@example.com`;

/**
 * A SQLite file in `journalMode` with ROWS users whose emails are all under the old key, and the
 * writer process running on it (30 rounds done).
 */
async function start(live: Live, journalMode: 'delete' | 'wal'): Promise<Seeded> {
  live.dir = mkdtempSync(join(tmpdir(), 'sealed-live-rotation-'));
  const file = join(live.dir, 'app.sqlite');
  const busy = new BusyCounter();
  // A short busy timeout on the rotator's connection (the drivers' defaults: 5 s better-sqlite3,
  // 1 s sqlite3), so the writer's long request outlasts it: SQLite then answers SQLITE_BUSY, and
  // only the library's own retry gets the rotation through. (With the defaults the busy handler
  // would absorb all of this writer's contention, and the retry would go untested.)
  const busyTimeout = typeormLine === '0.3' ? { busyTimeout: ROTATOR_BUSY_TIMEOUT } : { timeout: ROTATOR_BUSY_TIMEOUT };
  const ds = (live.ds = await openDataSource('sqlite', ENTITIES, [sealedSubscriber({ keys: ring })], file, { logger: busy, ...busyTimeout } as never));
  const [{ journal_mode: mode }] = await ds.query(`PRAGMA journal_mode = ${journalMode.toUpperCase()}`);
  expect(mode).toBe(journalMode);

  // Every email under the old key, inserted as stored (no listener seals anything).
  const seeded = Array.from({ length: ROWS }, (_, i) => sealFor(oldRing, 'sealed_user', 'email', 'string', original(i)));
  for (let i = 0; i < ROWS; i += 500) {
    await ds
      .createQueryBuilder()
      .insert()
      .into(User)
      .values(seeded.slice(i, i + 500).map((email, j) => ({ login: `user${i + j}`, email })) as never[])
      .callListeners(false)
      .execute();
  }
  const ids: number[] = (await ds.query('SELECT id FROM sealed_user ORDER BY id')).map((r: { id: number }) => Number(r.id));
  expect(ids).toHaveLength(ROWS);

  // What the application writes: under the ACTIVE key, so the goal stays exact (every value under
  // the active key at the end), and a row it wrote must keep exactly its envelope. It writes the
  // email of every other row only: the rest only the rotator can bring to the active key, so a
  // rotator too slow to do its share cannot pass because the writer happened to rewrite everything.
  // The last row is the long request's alone: the writer moves it to the active key while the
  // rotation runs and before the rotator reaches it (it walks in key order), so the rotator must
  // leave it as the writer wrote it.
  const held = ids.at(-1)!;
  const emailRows = ids.filter((id, i) => i % 2 === 0 || id === held);
  const sealed = Object.fromEntries(emailRows.map((id) => [id, sealFor(ring, 'sealed_user', 'email', 'string', `writer-${id}@example.com`)]));
  const planFile = join(live.dir, 'plan.json');
  writeFileSync(planFile, JSON.stringify({ ids: ids.slice(0, -1), sealed, pauseMs: 1, holdEvery: 25, holdMs: 20 }));

  const writer = (live.writer = new LiveWriter(file, planFile));
  await writer.reached(30, 60_000); // the application is live
  return { ds, writer, busy, ids, seeded, sealed, held };
}

/** No write lost: every row holds the writer's last value if it wrote one, else its original; all under the active key. */
async function expectEveryWriteKept({ ds, ids, seeded, sealed }: Seeded, result: WriterResult): Promise<void> {
  const stored: { id: number; login: string; email: string }[] = await ds.query('SELECT id, login, email FROM sealed_user ORDER BY id');
  expect(stored.map((r) => [Number(r.id), r.login])).toEqual(ids.map((id, i) => [id, result.logins[id] ?? `user${i}`]));
  // Byte for byte: a row the writer wrote holds its envelope (the rotator neither replaced it with
  // the old value re-sealed nor re-sealed it); every other row a new envelope under the active key.
  const wrong = stored.filter((r, i) =>
    result.emails[r.id] !== undefined ? r.email !== sealed[r.id] : !r.email.startsWith(activeHeader) || r.email === seeded[i],
  );
  expect(wrong.map((r) => r.id)).toEqual([]);
  // ...and reads back through the library.
  const users = await ds.getRepository(User).find({ order: { id: 'ASC' } });
  expect(users.map((u) => [u.id, u.login, u.email])).toEqual(ids.map((id, i) => [id, result.logins[id] ?? `user${i}`, result.emails[id] ?? original(i)]));
  expect((await rawColumn(ds, 'sealed_user', 'email')).every((v) => String(v).startsWith(activeHeader))).toBe(true);
  const census = (await new KeyRotator(ds, { entities: [User] }).census()).columns.find((c) => c.column === 'email')!;
  expect(census).toMatchObject({ total: ROWS, nulls: 0, plaintext: 0, malformed: 0, byKeyId: { [ring.activeKeyId]: ROWS } });
  expect((await new KeyRotator(ds, { entities: [User] }).verify()).status).toBe('complete');
}

/** The rotator reached its goal: nothing failed or left, each row it read written or left as a conflict. */
function expectComplete(report: RotationReport): void {
  expect(report.failures).toEqual([]);
  expect(report.failureGroups).toEqual([]);
  expect(report.status).toBe('complete');
  const email = report.columns.find((c) => c.column === 'email')!;
  expect(email).toMatchObject({ status: 'complete', remaining: 0, failed: 0, plaintext: 0, malformed: 0 });
  // A conflict is a row the writer changed between the batch's read and its write: none on SQLite,
  // where a batch holds the write lock from its read to its write, but not wrong either.
  expect(email.conflicts).toBeGreaterThanOrEqual(0);
  expect(email.rewritten + email.conflicts).toBe(email.examined);
}

const live: Live = {};

afterEach(async () => {
  // Runs when a test failed too: no writer process, connection or file outlives its case.
  await live.writer?.kill();
  if (live.ds?.isInitialized) await live.ds.destroy();
  if (live.dir) rmSync(live.dir, { recursive: true, force: true });
  delete live.writer;
  delete live.ds;
  delete live.dir;
}, TIMEOUT);

describe.each([
  ['delete', 'the default rollback journal'],
  ['wal', 'WAL'],
] as const)('KeyRotator on a SQLite file beside a live writer process (journal_mode=%s: %s)', (journalMode, _name) => {
  it(
    'completes with every value under the active key, and loses none of the writer’s writes',
    async () => {
      const setup = await start(live, journalMode);
      const { ds, writer, busy, held } = setup;
      // A slow request holds the write lock as the rotation starts: the first batch must wait it out.
      writer.send(`hold ${LONG_HOLD} ${held}`);
      await writer.said('holding', 60_000);

      const started = Date.now();
      const emailBatches: number[] = []; // when each batch of the email column had committed
      // After each batch of the email column (committed, lock released) the progress callback takes
      // 10 ms, as a slow progress display would: gaps the writer uses to write in the middle of the
      // walk too, not only during the long request and between columns.
      const onProgress = (p: RotationProgress) => {
        if (p.column !== 'email') return;
        emailBatches.push(Date.now());
        for (const until = Date.now() + PROGRESS_PAUSE; Date.now() < until;);
      };
      const report: RotationReport = await new KeyRotator(ds, { entities: [User], batchSize: 100, onProgress }).rotate();
      const ended = Date.now();
      const result = await writer.stop(60_000);

      const during = result.writes.filter(([at]) => at >= started && at <= ended);
      const duringEmailWalk = result.writes.filter(([at]) => at >= emailBatches[0]! && at <= emailBatches.at(-1)!);
      const email = report.columns.find((c) => c.column === 'email')!;
      // Rows whose email the writer moved to the active key during the rotation, before the rotator
      // reached them (it must leave them): those it did not examine, less those written before.
      const before = new Set(result.writes.filter(([at, , what]) => what === 'email' && at < started).map(([, id]) => id));
      const ahead = ROWS - email.examined - before.size;
      if (DEBUG) {
        console.log(
          `[${typeormLine} ${journalMode}] rotation ${ended - started} ms (email walk ${emailBatches.at(-1)! - emailBatches[0]!} ms), writer rounds ${result.rounds}, ` +
            `writes during the rotation ${during.length}, during the email walk ${duringEmailWalk.length}, rows written ahead of the rotator ${ahead}, ` +
            `busy errors logged for the rotator ${busy.busy}, email ${JSON.stringify(email)}`,
        );
      }

      // The application: same journal mode, no error (its 5 s busy timeout always sufficed), and it
      // kept committing while the rotation ran, in the middle of the email column's walk too.
      expect(result.journalMode).toBe(journalMode);
      expect(result.errors).toEqual([]);
      expect(during.length).toBeGreaterThanOrEqual(5);
      expect(duringEmailWalk.length).toBeGreaterThanOrEqual(5);
      // The long request committed after the rotation started, and before it ended.
      const heldAt = result.writes.find(([, id, what]) => id === held && what === 'email')?.[0];
      expect(heldAt).toBeGreaterThan(started);
      expect(heldAt).toBeLessThan(ended);

      // The rotator met a busy database (the long request outlasted its busy timeout), retried, and
      // reached its goal.
      expect(busy.busy).toBeGreaterThanOrEqual(1);
      expectComplete(report);
      // It rewrote every row the writer had not already moved to the active key, and left the others.
      expect(email.rewritten).toBeGreaterThanOrEqual(ROWS - Object.keys(result.emails).length);
      expect(email.rewritten).toBeGreaterThanOrEqual(ROWS / 2 - 1); // the rows the writer never moves
      expect(email.rewritten).toBeLessThanOrEqual(ROWS);
      expect(ahead).toBeGreaterThanOrEqual(1); // the held row at least
      expect(result.emails[held]).toBe(`writer-${held}@example.com`);

      await expectEveryWriteKept(setup, result);
    },
    TIMEOUT,
  );
});

// In the rollback journal an EXCLUSIVE lock (BEGIN EXCLUSIVE, or a write transaction whose changes
// outgrew SQLite's page cache) keeps readers out as well: every statement of the rotator, its reads
// included, meets SQLITE_BUSY until the lock goes. In WAL readers never wait for a writer: the case
// is the rollback journal's alone.
describe('KeyRotator on a SQLite file in the rollback journal, beside a writer holding an EXCLUSIVE lock', () => {
  // The rotator's first statements check that each column exists: they are retried like the rest
  // (before that fix, rotate() threw "database is locked" at once here).
  it(
    'completes when the writer holds an EXCLUSIVE lock (readers kept out) as the rotation starts',
    async () => {
      const setup = await start(live, 'delete');
      const { ds, writer, busy, held } = setup;
      writer.send(`hold ${LONG_HOLD} ${held} exclusive`);
      await writer.said('holding', 60_000);
      const report = await new KeyRotator(ds, { entities: [User], batchSize: 100 }).rotate();
      const result = await writer.stop(60_000);
      expect(result.errors).toEqual([]);
      expect(busy.busy).toBeGreaterThanOrEqual(1);
      expectComplete(report);
      await expectEveryWriteKept(setup, result);
    },
    TIMEOUT,
  );
});
