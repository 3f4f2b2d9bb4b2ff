import 'reflect-metadata';
import { DataSource, type DataSourceOptions, type MixedList, type EntitySchema } from 'typeorm';

/** The database servers a run can use. `TEST_DIALECTS=sqlite,postgres,mariadb` (default: sqlite). */
export type Dialect = 'sqlite' | 'postgres' | 'mariadb';
const ALL: readonly Dialect[] = ['sqlite', 'postgres', 'mariadb'];

declare const TYPEORM_LINE: '0.3' | '1.x';
/** `1.x` for the main suite, `0.3` in the project where jest maps `typeorm` to the 0.3 line (jest.config.js). */
export const typeormLine = TYPEORM_LINE;

/** Dialects to test, on both TypeORM lines (SQLite through `sqlite3` on 0.3, `better-sqlite3` on 1.x): TEST_DIALECTS. */
export function testDialects(): Dialect[] {
  const requested = (process.env.TEST_DIALECTS ?? 'sqlite')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  for (const d of requested) {
    if (!ALL.includes(d as Dialect)) throw new Error(`TEST_DIALECTS names "${d}"; known dialects: ${ALL.join(', ')}`);
  }
  return requested as Dialect[];
}

const HOW_TO_START: Record<Exclude<Dialect, 'sqlite'>, string> = {
  postgres: 'start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start (expects 127.0.0.1:5432, user postgres, trust auth)',
  mariadb: 'start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd (expects 127.0.0.1:3306, root, empty password)',
};

/**
 * A database per jest worker, so test files run in parallel without sharing tables.
 * `SEALED_TEST_RUN=<word>` gives concurrent jest runs on one machine databases of their own.
 */
const workerDatabase = `sealed_test_${process.env.SEALED_TEST_RUN ? `${process.env.SEALED_TEST_RUN.replace(/[^a-z0-9]/gi, '')}_` : ''}${process.env.JEST_WORKER_ID ?? '0'}`;

function serverOptions(dialect: Exclude<Dialect, 'sqlite'>, database: string): DataSourceOptions {
  return dialect === 'postgres'
    ? { type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database }
    : { type: 'mariadb', host: '127.0.0.1', port: 3306, username: 'root', password: '', database };
}

async function ensureWorkerDatabase(dialect: Exclude<Dialect, 'sqlite'>): Promise<void> {
  const admin = new DataSource(serverOptions(dialect, 'test'));
  try {
    await admin.initialize();
  } catch (e) {
    throw new Error(`TEST_DIALECTS asks for ${dialect} but it is unreachable (${(e as Error).message}); ${HOW_TO_START[dialect]}`);
  }
  try {
    if (dialect === 'mariadb') {
      await admin.query(`CREATE DATABASE IF NOT EXISTS ${workerDatabase}`);
    } else {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [workerDatabase]);
      if (found.length === 0) await admin.query(`CREATE DATABASE ${workerDatabase}`);
    }
  } finally {
    await admin.destroy();
  }
}

/** The database a worker's tests use on a server dialect (created on first use). */
export const WORKER_DATABASE = workerDatabase;

/** The URL of the worker's PostgreSQL database, created if missing, for programs a test starts (consumer projects). */
export async function workerPostgresUrl(): Promise<string> {
  await ensureWorkerDatabase('postgres');
  return `postgres://postgres@127.0.0.1:5432/${workerDatabase}`;
}

/**
 * Opens a fresh schema (tables dropped, and created unless `extra` says `synchronize: false`) on
 * the dialect; SQLite in memory unless given a file.
 */
export async function openDataSource(
  dialect: Dialect,
  entities: MixedList<Function | string | EntitySchema>,
  subscribers: MixedList<Function | string>,
  sqliteFile = ':memory:',
  extra: Partial<DataSourceOptions> = {},
): Promise<DataSource> {
  let base: DataSourceOptions;
  if (dialect === 'sqlite') {
    base =
      typeormLine === '0.3' ? ({ type: 'sqlite', database: sqliteFile } as unknown as DataSourceOptions) : { type: 'better-sqlite3', database: sqliteFile };
  } else {
    await ensureWorkerDatabase(dialect);
    base = serverOptions(dialect, workerDatabase);
  }
  const dataSource = new DataSource({ ...base, entities, subscribers, synchronize: true, dropSchema: true, ...extra } as DataSourceOptions);
  return dataSource.initialize();
}

/** Reads one column of one table with plain SQL, bypassing every subscriber. */
export async function rawColumn(dataSource: DataSource, table: string, column: string, where?: { column: string; value: unknown }): Promise<unknown[]> {
  const q = (name: string) => dataSource.driver.escape(name);
  const param = dataSource.driver.options.type === 'postgres' ? '$1' : '?';
  const sql = `SELECT ${q(column)} AS v FROM ${q(table)}${where ? ` WHERE ${q(where.column)} = ${param}` : ''} ORDER BY 1`;
  const rows: { v: unknown }[] = await dataSource.query(sql, where ? [where.value] : []);
  return rows.map((r) => r.v);
}

/** Writes one column with plain SQL, bypassing every subscriber. */
export async function rawUpdate(
  dataSource: DataSource,
  table: string,
  column: string,
  value: unknown,
  where: { column: string; value: unknown },
): Promise<void> {
  const q = (name: string) => dataSource.driver.escape(name);
  const postgres = dataSource.driver.options.type === 'postgres';
  await dataSource.query(`UPDATE ${q(table)} SET ${q(column)} = ${postgres ? '$1' : '?'} WHERE ${q(where.column)} = ${postgres ? '$2' : '?'}`, [
    value,
    where.value,
  ]);
}
