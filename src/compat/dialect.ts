import type { DataSource, QueryRunner } from 'typeorm';
import { SealedError, type SealedErrorContext } from '../errors';
import { INTERNAL_QUERY_MARKER } from '../internal-query';

/** How a batch SELECT locks its rows: skip rows another process holds, wait for them, or read only. */
export type RowLock = 'skip' | 'wait' | 'none';

/**
 * How a database's SQL text is written, for reading statements back: PostgreSQL binds `$1`, `$2`,
 * nests block comments and has `E'...'` and dollar-quoted strings; MySQL/MariaDB bind `?` (and
 * `??`), take backslash escapes in quoted text and `#` comments; SQLite binds `?` and `?NNN` and
 * quotes identifiers in `[...]` too.
 */
export type SqlLexicon = 'postgres' | 'mysql' | 'sqlite';

/** What the rotator's SQL, and the log's reading of statements, need to know about one kind of database. */
export interface Dialect {
  /** How its SQL text is written. */
  readonly lexicon: SqlLexicon;
  /** Prefix that makes `=` compare strings exactly (MySQL/MariaDB compare case-insensitively by default). */
  readonly binary: string;
  /**
   * The column as text for prefix tests, so reads also work on a legacy column not widened yet
   * (a dry run before the migration): PostgreSQL has no SUBSTR of a boolean or integer.
   */
  asText(column: string): string;
  /** Clause appended to a batch SELECT, per lock mode. */
  readonly lock: Readonly<Record<RowLock, string>>;
  /**
   * Whether a writing batch must take the database's write lock before it reads (SQLite: a
   * deferred transaction that reads and then writes fails with SQLITE_BUSY when another
   * connection wrote in between, without waiting).
   */
  readonly writeLockUpFront: boolean;
  /** Bind parameters one statement may carry (with room to spare). */
  readonly maxParameters: number;
  /**
   * The longest statement the server accepts, in bytes, where it is low enough to matter:
   * MySQL/MariaDB's `max_allowed_packet` (read from the session). Undefined elsewhere
   * (PostgreSQL takes messages of up to 1 GiB, SQLite statements of up to 1 GB).
   */
  maxStatementBytes(runner: QueryRunner): Promise<number | undefined>;
  /**
   * How a batch's compare-and-swap UPDATE matches its rows to their new values: by a join (linear
   * in the batch) with `values`, a `VALUES` list with column aliases (PostgreSQL), or
   * `numbered-values`, a `VALUES` list whose columns are `column1`... (SQLite 3.33+); or `case`,
   * `SET c = CASE key WHEN ... THEN IF(c = BINARY previous, next, c) ... END WHERE key IN (...)`
   * (MySQL/MariaDB, where it runs about a third faster than a join with a derived table of
   * `SELECT ... UNION ALL`; `execute` then counts changed rows, not matched ones).
   */
  readonly swapJoin: 'values' | 'numbered-values' | 'case';
  /** How long a batch keeps retrying after transient errors (deadlocks, a busy database), in ms. */
  readonly retryForMs: number;
  /** Whether an error is transient: the batch was rolled back and can simply run again. */
  isTransient(error: unknown): boolean;
  /**
   * Runs a write statement on the query runner's own connection (so inside its transaction) and
   * returns the rows it changed. It bypasses TypeORM's query logger and subscribers, because its
   * parameters carry values (legacy plaintext for `encryptExisting`, plaintext for `decryptAll`).
   */
  execute(runner: QueryRunner, sql: string, parameters: readonly unknown[]): Promise<number>;
}

interface DriverError {
  code?: unknown;
  errno?: unknown;
}

/**
 * The driver's own error: TypeORM wraps it as `driverError`; native calls throw it directly; a
 * {@link refusedWrite} keeps only its code.
 */
function driverError(error: unknown): DriverError {
  if (error instanceof SealedError) return { code: error.driverCode, errno: Number(error.driverCode) };
  return ((error as { driverError?: DriverError })?.driverError ?? error ?? {}) as DriverError;
}

/**
 * A value-free error for a statement carrying values that the database refused. Drivers copy
 * values into their errors (mysql2's `sql` with the parameters inlined, PostgreSQL's `detail`,
 * "Duplicate entry '...'"), so none of the driver's error is kept but its code.
 */
export function refusedWrite(error: unknown, context: SealedErrorContext): SealedError {
  const { code, errno } = driverError(error);
  // MySQL/MariaDB: the error number, which both servers document; mysql2 names MariaDB's numbers
  // with MySQL's names (MariaDB's 4025, a failed CHECK, is not MySQL's 4025).
  const raw = typeof code === 'string' && code.startsWith('ER_') && typeof errno === 'number' ? String(errno) : code;
  const driverCode = typeof raw === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(raw) ? raw : undefined;
  return new SealedError(
    'SEALED_WRITE_FAILED',
    "the database refused the rotator's compare-and-swap UPDATE; the batch was rolled back. The driver's message is not shown: it can hold the statement's values",
    driverCode === undefined ? context : { ...context, driverCode },
  );
}

function callback<T>(run: (done: (error: Error | null, result?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, result) => (error ? reject(error) : resolve(result as T))));
}

const LOCKING: Readonly<Record<RowLock, string>> = { skip: ' FOR UPDATE SKIP LOCKED', wait: ' FOR UPDATE', none: '' };

const asIs = (column: string) => column;

const uncapped = async () => undefined;

const postgres: Dialect = {
  lexicon: 'postgres',
  binary: '',
  asText: (column) => `CAST(${column} AS text)`,
  lock: LOCKING,
  writeLockUpFront: false,
  maxParameters: 30_000,
  maxStatementBytes: uncapped,
  swapJoin: 'values',
  retryForMs: 2_000,
  isTransient: (e) => ['40P01', '40001'].includes(String(driverError(e).code)),
  async execute(runner, sql, parameters) {
    const client = (await runner.connect()) as { query(sql: string, values: readonly unknown[]): Promise<{ rowCount: number | null }> };
    return (await client.query(sql, parameters)).rowCount ?? 0;
  },
};

const mysql: Dialect = {
  lexicon: 'mysql',
  binary: 'BINARY ',
  asText: asIs,
  lock: LOCKING,
  writeLockUpFront: false,
  maxParameters: 30_000,
  async maxStatementBytes(runner) {
    const rows: { n: unknown }[] = await runner.query(`SELECT @@max_allowed_packet AS n ${INTERNAL_QUERY_MARKER}`);
    const bytes = Number(rows[0]?.n);
    return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
  },
  swapJoin: 'case',
  retryForMs: 2_000,
  isTransient: (e) => [1213, 1205].includes(Number(driverError(e).errno)), // deadlock, lock wait timeout
  async execute(runner, sql, parameters) {
    const connection = (await runner.connect()) as {
      query(sql: string, values: readonly unknown[], done: (e: Error | null, r?: { changedRows: number }) => void): void;
    };
    // Changed, not affected: mysql2 and mysql connect with FOUND_ROWS, which counts matched rows.
    return (await callback<{ changedRows: number }>((done) => connection.query(sql, parameters, done))).changedRows;
  },
};

const sqliteBase = {
  lexicon: 'sqlite',
  binary: '',
  asText: asIs,
  lock: { skip: '', wait: '', none: '' },
  writeLockUpFront: true,
  maxParameters: 30_000,
  maxStatementBytes: uncapped,
  swapJoin: 'numbered-values',
  // Another process may hold the write lock for a while (its own transactions): keep trying.
  retryForMs: 60_000,
  isTransient: (e: unknown) => /^SQLITE_(BUSY|LOCKED)/.test(String(driverError(e).code)),
} as const;

const betterSqlite3: Dialect = {
  ...sqliteBase,
  async execute(runner, sql, parameters) {
    const database = (await runner.connect()) as { prepare(sql: string): { run(parameters: readonly unknown[]): { changes: number } } };
    return database.prepare(sql).run(parameters).changes;
  },
};

const sqlite3: Dialect = {
  ...sqliteBase,
  async execute(runner, sql, parameters) {
    const database = (await runner.connect()) as {
      run(sql: string, parameters: readonly unknown[], done: (this: { changes: number }, e: Error | null) => void): void;
    };
    return new Promise((resolve, reject) =>
      database.run(sql, parameters, function (error) {
        if (error) reject(error);
        else resolve(this.changes);
      }),
    );
  },
};

const DIALECTS: Readonly<Record<string, Dialect>> = {
  postgres,
  mysql,
  mariadb: mysql,
  'better-sqlite3': betterSqlite3,
  sqlite: sqlite3,
};

/**
 * Runs `work`, and again after a backoff (10 ms doubling to 1 s, with jitter) while it fails with
 * an error the dialect calls transient, for up to the dialect's `retryForMs`.
 */
export async function retrying<T>(dialect: Dialect, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + dialect.retryForMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (!dialect.isTransient(e) || Date.now() >= deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random())));
    }
  }
}

/**
 * A table path (`table`, `schema.table`) quoted for the DataSource's SQL, each part escaped.
 *
 * @example
 * ```ts
 * quotedTablePath(postgres, 'billing.invoice'); // "billing"."invoice"
 * ```
 */
export function quotedTablePath(dataSource: DataSource, tablePath: string): string {
  return tablePath
    .split('.')
    .map((name) => dataSource.driver.escape(name))
    .join('.');
}

/** The dialect of a DataSource's driver, or undefined for a driver this library does not support. */
export function findDialect(dataSource: DataSource): Dialect | undefined {
  const type = String(dataSource.driver.options.type);
  return Object.hasOwn(DIALECTS, type) ? DIALECTS[type] : undefined;
}

/** The dialect of a DataSource's driver; `SEALED_CONFIG` naming the supported ones for any other. */
export function dialectOf(dataSource: DataSource): Dialect {
  const dialect = findDialect(dataSource);
  if (!dialect) {
    const type = String(dataSource.driver.options.type);
    throw new SealedError(
      'SEALED_CONFIG',
      `the rotator does not support the "${type.replace(/[^a-z0-9-]/gi, '')}" driver; it supports ${Object.keys(DIALECTS).join(', ')}`,
    );
  }
  return dialect;
}
