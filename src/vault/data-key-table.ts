import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { EntitySchema, type DataSource, type QueryRunner } from 'typeorm';
import { dialectOf } from '../compat/dialect';
import { escapeQuery } from '../compat/typeorm';
import { printable, SealedError } from '../errors';
import { SCOPE } from '../keys/scope';
import { INTERNAL_QUERY_MARKER } from '../internal-query';

/** The table a {@link KeyVault} keeps its data keys in. */
export const DATA_KEY_TABLE = 'sealed_data_keys';

/** Where a data key stands: `active` seals (one per scope), `ready` and `retired` only open, `shredded` is gone. */
export type DataKeyState = 'ready' | 'active' | 'retired' | 'shredded';

/** One row of the data key table, as stored (FORMAT.md, "The data key table"). */
export interface DataKeyRow {
  id: string;
  scope: string;
  /** `hex(SHA-256(utf8(scope)))`: what queries and the unique constraint compare (collations cannot fold it). */
  scope_hash: string;
  generation: number;
  state: DataKeyState;
  wrapped: string | null;
  wrapped_by: string | null;
  created_at: string;
  activated_at: string | null;
  shredded_at: string | null;
}

/**
 * The data key table as TypeORM metadata: put it in the DataSource's `entities` so that
 * `synchronize` or a generated migration creates it, like any table of the application.
 *
 * @example
 * ```ts
 * new DataSource({ ..., entities: [User, SealedDataKeys], subscribers: [sealedSubscriber({ keys: vault })] });
 * ```
 */
export const SealedDataKeys = new EntitySchema<DataKeyRow>({
  name: 'SealedDataKey',
  tableName: DATA_KEY_TABLE,
  columns: {
    id: { type: 'varchar', length: 8, primary: true },
    scope: { type: 'varchar', length: 191, default: '' },
    scope_hash: { type: 'varchar', length: 64 },
    generation: { type: 'integer' },
    state: { type: 'varchar', length: 16 },
    wrapped: { type: 'text', nullable: true },
    wrapped_by: { type: 'varchar', length: 255, nullable: true },
    created_at: { type: 'varchar', length: 24 },
    activated_at: { type: 'varchar', length: 24, nullable: true },
    shredded_at: { type: 'varchar', length: 24, nullable: true },
  },
  uniques: [{ name: 'UQ_sealed_data_keys_scope_generation', columns: ['scope_hash', 'generation'] }],
});

const COLUMNS = ['id', 'scope', 'scope_hash', 'generation', 'state', 'wrapped', 'wrapped_by', 'created_at', 'activated_at', 'shredded_at'] as const;
const STATES: readonly string[] = ['ready', 'active', 'retired', 'shredded'];
const KEY_ID = /^[0-9a-f]{8}$/;

/** What runs a statement: the DataSource, or an EntityManager inside a transaction. */
interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<never[]>;
}

/** Reads and writes the data key table with plain SQL (parameters bound by TypeORM's driver). */
export class DataKeyTable {
  private readonly table: string;
  /** Every column, quoted, in {@link COLUMNS} order. */
  private readonly columns: string;

  constructor(
    private readonly dataSource: DataSource,
    /** Where statements run: a query runner (in its transaction), an EntityManager's, or the pool. */
    private readonly runner: Queryable = dataSource,
  ) {
    if (!dataSource?.isInitialized)
      throw new SealedError('SEALED_CONFIG', 'the key vault needs an initialized DataSource: await dataSource.initialize() first');
    if (!dataSource.entityMetadatas.some((m) => m.tableName === DATA_KEY_TABLE)) {
      throw new SealedError(
        'SEALED_CONFIG',
        `a KeyVault keeps its data keys in the table ${DATA_KEY_TABLE}: add SealedDataKeys to the DataSource's entities and create the table with a migration (or synchronize)`,
      );
    }
    this.table = dataSource.driver.escape(DATA_KEY_TABLE);
    this.columns = COLUMNS.map((c) => this.q(c)).join(', ');
  }

  /** Every row, checked, in scope and generation order. */
  rows(): Promise<DataKeyRow[]> {
    return this.select(`ORDER BY ${this.q('scope')}, ${this.q('generation')}`, {});
  }

  /** The rows of the given scopes and ids, checked. */
  async rowsOf(scopes: readonly string[], ids: readonly string[]): Promise<DataKeyRow[]> {
    if (scopes.length === 0 && ids.length === 0) return [];
    const where = [...(scopes.length ? [`${this.q('scope_hash')} IN (:...scopes)`] : []), ...(ids.length ? [`${this.q('id')} IN (:...ids)`] : [])].join(' OR ');
    return this.select(`WHERE ${where}`, { scopes: scopes.map(scopeHash), ids: [...ids] });
  }

  /** Every column of the rows `clause` (WHERE, ORDER BY, a lock) selects, each row checked. */
  private async select(clause: string, params: Record<string, unknown>): Promise<DataKeyRow[]> {
    const raw: Record<string, unknown>[] = await this.run(`SELECT ${this.columns} FROM ${this.table} ${clause}`, params, 'read');
    return raw.map(checkRow);
  }

  /**
   * Inserts a row; rejects when the database refuses it (a scope and generation taken by another
   * process). The statement carries a wrapped key: it runs on a connection directly, past
   * TypeORM's query log (which logs a failed statement with its parameters even when only errors
   * are logged).
   */
  async insert(row: DataKeyRow): Promise<void> {
    await this.runUnlogged(this.insertSql(''), row as unknown as Record<string, unknown>);
  }

  /** `INSERT` of a whole row, with `onConflict` appended. */
  private insertSql(onConflict: string): string {
    return `INSERT INTO ${this.table} (${this.columns}) VALUES (${COLUMNS.map((c) => `:${c}`).join(', ')})${onConflict}`;
  }

  /**
   * The row holding a scope's generation, the latest committed one (on MySQL/MariaDB a locking
   * read of that one index entry: no gap is locked, so two first writes of other scopes do not
   * deadlock on it), or undefined.
   */
  async rowAt(scope: string, generation: number): Promise<DataKeyRow | undefined> {
    const lock = isMysql(this.dataSource) ? ' LOCK IN SHARE MODE' : '';
    const rows = await this.select(`WHERE ${this.q('scope_hash')} = :hash AND ${this.q('generation')} = :generation${lock}`, {
      hash: scopeHash(scope),
      generation,
    });
    return rows[0];
  }

  /**
   * Whether the row `id` holds `scope` exactly, read without checking the row; when the database
   * changed it (a character set that cannot hold it: MySQL's utf8mb3 stores an emoji as `?` when
   * not strict), the row is deleted, since a row whose scope does not match its `scope_hash`
   * would stop every process from loading the table.
   */
  async keepsScope(id: string, scope: string): Promise<boolean> {
    const rows: { scope: unknown }[] = await this.run(`SELECT ${this.q('scope')} AS scope FROM ${this.table} WHERE ${this.q('id')} = :id`, { id }, 'read');
    if (rows.length === 0 || rows[0]!.scope === scope) return true;
    await this.run(`DELETE FROM ${this.table} WHERE ${this.q('id')} = :id`, { id }, 'write');
    return false;
  }

  /**
   * Inserts a row unless its id, or its scope and generation, are taken: then nothing happens (the
   * caller reads which row is there). Where another transaction holds an uncommitted row with the
   * same scope and generation, the database makes this wait for its outcome.
   */
  async insertIfAbsent(row: DataKeyRow): Promise<void> {
    const skip = isMysql(this.dataSource) ? ` ON DUPLICATE KEY UPDATE ${this.q('id')} = ${this.q('id')}` : ' ON CONFLICT DO NOTHING';
    await this.runUnlogged(this.insertSql(skip), row as unknown as Record<string, unknown>);
  }

  /** A write on a query runner's connection, past TypeORM's logger and subscribers (inside the transaction when run through an EntityManager's query runner). */
  private async runUnlogged(sql: string, params: Record<string, unknown>): Promise<void> {
    const [query, values] = escapeQuery(this.dataSource, `${sql} ${INTERNAL_QUERY_MARKER}`, params);
    const own = isQueryRunner(this.runner) ? this.runner : (this.runner as { queryRunner?: QueryRunner }).queryRunner;
    const runner = own ?? this.dataSource.createQueryRunner();
    try {
      await dialectOf(this.dataSource).execute(runner, query, values);
    } catch (e) {
      throw storeError(e, 'write');
    } finally {
      if (!own) await runner.release();
    }
  }

  /** Sets columns of the row `id` where `where` still holds; the number of rows changed is not reported by every driver, so callers read back. */
  async update(id: string, set: Partial<DataKeyRow>, where: Partial<DataKeyRow> = {}): Promise<void> {
    const sets = Object.keys(set).map((c) => `${this.q(c)} = :set_${c}`);
    const conditions = Object.entries(where).map(([c, v]) => (v === null ? `${this.q(c)} IS NULL` : `${this.q(c)} = :where_${c}`));
    const params: Record<string, unknown> = { id };
    for (const [c, v] of Object.entries(set)) params[`set_${c}`] = v;
    for (const [c, v] of Object.entries(where)) if (v !== null) params[`where_${c}`] = v;
    await this.run(`UPDATE ${this.table} SET ${sets.join(', ')} WHERE ${[`${this.q('id')} = :id`, ...conditions].join(' AND ')}`, params, 'write');
  }

  /**
   * Replaces a row's wrapping where it still holds `previous` (compare-and-swap). The statement
   * carries a wrapped key: it runs on a connection directly, past TypeORM's query log.
   */
  async updateWrapped(id: string, wrapped: string, wrappedBy: string, previous: string): Promise<void> {
    await this.runUnlogged(
      `UPDATE ${this.table} SET ${this.q('wrapped')} = :wrapped, ${this.q('wrapped_by')} = :by WHERE ${this.q('id')} = :id AND ${this.q('wrapped')} = :previous`,
      { wrapped, by: wrappedBy, id, previous },
    );
  }

  /** Runs `work` in one transaction of its own. */
  transaction(work: (table: DataKeyTable) => Promise<void>): Promise<void> {
    return this.dataSource.transaction((manager) => work(new DataKeyTable(this.dataSource, manager)));
  }

  private q(name: string): string {
    return this.dataSource.driver.escape(name);
  }

  private async run(sql: string, params: Record<string, unknown>, what: 'read' | 'write'): Promise<never[]> {
    const [query, values] = escapeQuery(this.dataSource, `${sql} ${INTERNAL_QUERY_MARKER}`, params);
    try {
      return await this.runner.query(query, values);
    } catch (e) {
      throw storeError(e, what);
    }
  }
}

function isMysql(dataSource: DataSource): boolean {
  return ['mysql', 'mariadb', 'aurora-mysql'].includes(String(dataSource.driver.options.type));
}

function isQueryRunner(runner: Queryable): runner is Queryable & QueryRunner {
  return typeof (runner as Partial<QueryRunner>).connect === 'function' && 'isTransactionActive' in runner;
}

/** A failed statement on the key table as a SealedError: the driver's message may quote the statement's values (a wrapped key), so only its code is kept. */
function storeError(e: unknown, what: 'read' | 'write'): SealedError {
  const driver = (e as { driverError?: { code?: unknown; errno?: unknown } })?.driverError ?? (e as { code?: unknown; errno?: unknown });
  const code = driver?.code;
  const shown = typeof code === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(code) ? code : undefined;
  // PostgreSQL's deadlock and serialization failures, MySQL/MariaDB's deadlock and lock wait timeout
  const transient = ['40P01', '40001'].includes(String(code)) || [1213, 1205].includes(Number(driver?.errno));
  return new SealedError(
    'SEALED_KEY_STORE',
    transient
      ? `the database broke a deadlock (or a lock wait) between writes creating the first data key of the same scope at once: this write was rolled back as a whole; run it again`
      : what === 'read'
        ? `the data key table ${DATA_KEY_TABLE} cannot be read (does it exist? create it with a migration: SealedDataKeys is in the entities)`
        : `the database refused a write to the data key table ${DATA_KEY_TABLE}`,
    shown ? { driverCode: shown } : {},
  );
}

/** A row as read, checked field by field; `SEALED_KEY_STORE` naming the field otherwise (never its content, but a valid key id). */
function checkRow(raw: Record<string, unknown>): DataKeyRow {
  const id = raw.id;
  const keyId = typeof id === 'string' && KEY_ID.test(id) ? id : undefined;
  const bad = (what: string): SealedError =>
    new SealedError('SEALED_KEY_STORE', `a row of ${DATA_KEY_TABLE} is not a data key: ${what}`, keyId ? { keyId } : {});
  if (!keyId) throw bad('its id is not a key id (8 lowercase hex characters)');
  const generation = Number(raw.generation);
  if (typeof raw.scope !== 'string' || !SCOPE.test(raw.scope)) throw bad('its scope is not text of at most 191 characters without control characters');
  if (raw.scope_hash !== scopeHash(raw.scope)) throw bad('its scope_hash is not the SHA-256 of its scope');
  if (!Number.isSafeInteger(generation) || generation < 1) throw bad('its generation is not a positive integer');
  if (typeof raw.state !== 'string' || !STATES.includes(raw.state)) throw bad(`its state is not one of ${STATES.join(', ')}`);
  const shredded = raw.state === 'shredded';
  if (shredded !== (raw.wrapped === null)) throw bad(shredded ? 'it is shredded but still holds a wrapped key' : 'it holds no wrapped key');
  if (!shredded && (typeof raw.wrapped !== 'string' || typeof raw.wrapped_by !== 'string')) throw bad('its wrapped key or wrapped_by is not text');
  for (const c of ['created_at', 'activated_at', 'shredded_at'] as const) {
    if (raw[c] !== null && (typeof raw[c] !== 'string' || !/^[0-9T:.Z-]{1,24}$/.test(raw[c] as string))) throw bad(`its ${c} is not an ISO 8601 time`);
  }
  return {
    id: keyId,
    scope: raw.scope,
    scope_hash: raw.scope_hash,
    generation,
    state: raw.state as DataKeyState,
    wrapped: raw.wrapped as string | null,
    wrapped_by: raw.wrapped_by as string | null,
    created_at: raw.created_at as string,
    activated_at: raw.activated_at as string | null,
    shredded_at: raw.shredded_at as string | null,
  };
}

/** `hex(SHA-256(utf8(scope)))`. */
export function scopeHash(scope: string): string {
  return bytesToHex(sha256(utf8ToBytes(scope)));
}

/** A `wrapped_by` as it may be printed: the shapes the shipped wrappers write; anything else is not shown. */
export function shownWrappedBy(wrappedBy: string | null): string {
  if (wrappedBy === null) return '-';
  return /^[a-z]{1,16}:[A-Za-z0-9._:/@-]{1,128}$/.test(wrappedBy) ? printable(wrappedBy) : '(not shown)';
}
