import type { DataSource, EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm';
import { ENVELOPE_PREFIX, envelopeHeader, HEADER_LENGTH } from '../envelope/format';
import { INDEX_PREFIX_LENGTH, keyIdOfIndexPrefix } from '../envelope/blind-index';
import { describeKey, type SealedColumn } from '../metadata/column-plan';
import { escapeQuery } from '../compat/typeorm';
import { INTERNAL_QUERY_MARKER } from '../internal-query';
import { dialectOf, quotedTablePath, refusedWrite, retrying, type Dialect, type RowLock } from '../compat/dialect';
import type { RotationMode } from './report';

/** One compare-and-swap: write `next` where the row with `key` still holds `previous`. */
export interface Swap {
  key: unknown[];
  previous: unknown;
  next: unknown;
}

const MAX_ROWS_PER_SWAP = 1000;

/**
 * Bytes of parameters (keys, previous and next values) one compare-and-swap statement carries at
 * most; a row bigger than this goes alone. Large values (JSON documents of hundreds of KB) in a
 * batch of 1000 rows would otherwise make statements of hundreds of MB, which MySQL and MariaDB
 * refuse past `max_allowed_packet` (MariaDB's default is 16 MiB, MySQL's 64 MiB, 4 MiB before
 * 8.0), and which every database must hold in memory at once. 4 MiB stays well under those
 * defaults, even with the values escaped into the statement text, and still spreads a round trip
 * over many rows. On MySQL/MariaDB a quarter of the server's `max_allowed_packet` caps it too.
 */
export const MAX_SWAP_BYTES = 4 * 1024 * 1024;

/** Limits of one compare-and-swap statement. Internal: tests lower `maxBytes` to split small batches. */
export const swapLimits = { maxBytes: MAX_SWAP_BYTES };

/** A row of a batch: its primary key, the encrypted value, and (index walks) its index value. */
export interface BatchRow {
  key: unknown[];
  value: unknown;
  index?: unknown;
  /** The row's scope property, for a scoped column. */
  scope?: unknown;
}

/** Which key ids a rotation must move, for a scoped column (every scope has its own active key). */
export interface ScopedRotation {
  /** Key ids whose values are re-sealed under their scope's active key: loaded, neither active nor shredded. */
  readonly from: readonly string[];
}

/** A range of primary keys: after `after` (exclusive) up to `upTo` (inclusive); open where undefined. */
export interface KeyWindow {
  after: unknown[] | undefined;
  upTo: unknown[] | undefined;
}

/** Counts of one column by what its values are, from the envelope prefix (no value is opened). */
export interface HeaderCounts {
  nulls: number;
  /** Non-null values that do not start with `sealed:` (empty strings included). */
  plaintext: number;
  /** Empty strings (counted in `plaintext` too). */
  empty: number;
  /** Values per envelope header (`sealed:1:x:<key id>:` and whatever else starts with `sealed:`). */
  headers: Map<string, number>;
}

/**
 * SQL for one encrypted column of one table, in the dialect of its DataSource. Every statement
 * ends with the internal marker, so the query guard lets it compare envelopes.
 */
export class ColumnSql {
  readonly table: string;
  /** The encrypted column (quoted): read, and compared by the compare-and-swap. */
  readonly column: string;
  /** The column the walk writes (quoted): the encrypted column, or its blind index column. */
  readonly written: string;
  /** The scope column (quoted), for a scoped column: read with each row. */
  readonly scope: string | undefined;
  private readonly keys: string[];
  readonly dialect: Dialect;
  /** Bytes of parameters one compare-and-swap statement carries here; read at the first write. */
  private swapBytes: number | undefined;

  constructor(
    private readonly dataSource: DataSource,
    readonly metadata: EntityMetadata,
    readonly sc: SealedColumn,
    /** `index`: the walk writes the field's blind index, computed from the value it reads. */
    readonly target: 'value' | 'index' = 'value',
  ) {
    const q = (name: string) => dataSource.driver.escape(name);
    this.table = quotedTablePath(dataSource, metadata.tablePath);
    this.column = q(sc.column.databaseName);
    this.written = target === 'index' ? q(sc.index!.column.databaseName) : this.column;
    this.scope = sc.scope && q(sc.scope.databaseName);
    this.keys = metadata.primaryColumns.map((c) => q(c.databaseName));
    this.dialect = dialectOf(dataSource);
  }

  /**
   * The condition selecting the rows a mode must touch, from the envelope prefix; for an index
   * walk, from the index value's key id prefix (`activeKeyId` is then the active index key's).
   */
  needsWork(mode: RotationMode, activeKeyId: string, shreddedKeyIds: readonly string[] = [], scoped?: ScopedRotation): string {
    if (this.target === 'index') return mode === 'verify' ? '1 = 1' : `(${this.written} IS NULL OR NOT ${this.startsWith(`${activeKeyId}:`, this.written)})`;
    if (mode === 'rotate' && scoped) {
      // key ids are 8 hex characters (checked where they enter): safe as literals
      if (scoped.from.length === 0) return '1 = 0';
      return `(${this.startsWith(ENVELOPE_PREFIX)} AND SUBSTR(${this.dialect.asText(this.column)}, 12, 8) IN (${scoped.from.map((id) => `'${id}'`).join(', ')}))`;
    }
    // values under a shredded key can never be opened: rotate and decryptAll leave them
    const notShredded = shreddedKeyIds.map((id) => ` AND NOT ${this.startsWith(envelopeHeader(id))}`).join('');
    switch (mode) {
      case 'rotate':
        return `${this.startsWith(ENVELOPE_PREFIX)} AND NOT ${this.startsWith(envelopeHeader(activeKeyId))}${notShredded}`;
      case 'encryptExisting':
        return `NOT ${this.startsWith(ENVELOPE_PREFIX)}`;
      case 'decryptAll':
        return `${this.startsWith(ENVELOPE_PREFIX)}${notShredded}`;
      case 'verify':
        return `1 = 1${notShredded}`;
      case 'reindex':
        return '1 = 1';
    }
  }

  /**
   * `col` starts with `literal`, exactly: LIKE ignores case on MySQL/MariaDB (default collations)
   * and SQLite, which would take plaintext such as 'Sealed: yes' for an envelope.
   */
  private startsWith(literal: string, column = this.column): string {
    return `(SUBSTR(${this.dialect.asText(column)}, 1, ${literal.length}) = ${this.dialect.binary}'${literal}')`;
  }

  /** `SELECT COUNT(*)` of the non-null rows matching `condition`. */
  countSql(condition: string): string {
    return `SELECT COUNT(*) AS n FROM ${this.table} WHERE ${this.column} IS NOT NULL AND ${condition} ${INTERNAL_QUERY_MARKER}`;
  }

  async count(runner: QueryRunner, condition: string): Promise<number> {
    const rows = await this.read<{ n: unknown }[]>(runner, this.countSql(condition));
    return Number(rows[0]!.n);
  }

  /**
   * The last primary key of the `size` keys after `after` (from the start when undefined), read
   * from the primary key index alone; undefined when fewer than `size` keys follow.
   */
  async windowEnd(runner: QueryRunner, after: unknown[] | undefined, size: number): Promise<unknown[] | undefined> {
    const rows: ObjectLiteral[] = await this.read(runner, ...this.windowEndSql(after, size));
    const row = rows[0];
    return row === undefined ? undefined : this.keys.map((_, i) => row[`k${i}`]);
  }

  /** The window-end SELECT and its parameters. */
  windowEndSql(after: unknown[] | undefined, size: number): [string, unknown[]] {
    const keys = this.keys.map((k, i) => `${k} AS k${i}`).join(', ');
    return this.escape(
      `SELECT ${keys} FROM ${this.table}${after ? ` WHERE ${this.keyBound('>', 'c', after)}` : ''} ORDER BY ${this.keys.join(', ')} LIMIT 1 OFFSET ${size - 1} ${INTERNAL_QUERY_MARKER}`,
      this.keyParams('c', after),
    );
  }

  /**
   * The rows of a key window that match `condition`, in key order. `lock`: `skip` takes row locks
   * and skips rows another process holds, `wait` waits for them, `none` reads only.
   */
  async batch(runner: QueryRunner, condition: string, window: KeyWindow, lock: RowLock): Promise<BatchRow[]> {
    const rows: ObjectLiteral[] = await runner.query(...this.batchSql(condition, window, lock));
    return rows.map((row) => ({ key: this.keys.map((_, i) => row[`k${i}`]), value: row.v, index: row.i, scope: row.s }));
  }

  /** The batch SELECT and its parameters. */
  batchSql(condition: string, window: KeyWindow, lock: RowLock): [string, unknown[]] {
    const keys = this.keys.map((k, i) => `${k} AS k${i}`).join(', ');
    const after = window.after ? ` AND ${this.keyBound('>', 'c', window.after)}` : '';
    const upTo = window.upTo ? ` AND ${this.keyBound('<=', 'e', window.upTo)}` : '';
    return this.escape(
      `SELECT ${keys}, ${this.column} AS v${this.target === 'index' ? `, ${this.written} AS i` : ''}${this.scope ? `, ${this.scope} AS s` : ''} FROM ${this.table} WHERE ${this.column} IS NOT NULL AND ${condition}${after}${upTo} ` +
        `ORDER BY ${this.keys.join(', ')}${this.dialect.lock[lock]} ${INTERNAL_QUERY_MARKER}`,
      { ...this.keyParams('c', window.after), ...this.keyParams('e', window.upTo) },
    );
  }

  /** `(k0, k1) > (:c0, :c1)`: a row-value comparison on the primary key. */
  private keyBound(operator: '>' | '<=', prefix: string, key: readonly unknown[]): string {
    return `(${this.keys.join(', ')}) ${operator} (${key.map((_, i) => `:${prefix}${i}`).join(', ')})`;
  }

  private keyParams(prefix: string, key: readonly unknown[] | undefined): ObjectLiteral {
    return Object.fromEntries((key ?? []).map((value, i) => [`${prefix}${i}`, value]));
  }

  /** `id=42` or `a=1, b=2` for a batch row's key, control characters escaped. */
  describeKey(key: unknown[]): string {
    return describeKey(this.metadata, key);
  }

  /**
   * Takes the database's write lock at the start of a writing batch where the dialect needs it
   * (SQLite): a no-op UPDATE begins the write transaction, waiting for other writers.
   */
  async lockForWriting(runner: QueryRunner): Promise<void> {
    const sql = this.lockSql();
    if (sql) await runner.query(sql);
  }

  /** The statement that takes the write lock, where the dialect needs one. */
  lockSql(): string | undefined {
    return this.dialect.writeLockUpFront ? `UPDATE ${this.table} SET ${this.column} = ${this.column} WHERE 1 = 0 ${INTERNAL_QUERY_MARKER}` : undefined;
  }

  /**
   * Compare-and-swap for a whole batch: each row gets its `next` value only where the column
   * still holds its `previous` one. Returns how many rows were written; the others changed
   * meanwhile and keep what the application wrote (or cannot be found by the key read back: see
   * `ColumnWalk`). A batch goes in as few statements as the limits on parameters and bytes allow
   * (see {@link splitSwaps}).
   */
  async swapMany(runner: QueryRunner, writes: readonly Swap[]): Promise<number> {
    if (writes.length === 0) return 0;
    // Each row takes 3 parameters per key column plus 2; databases cap a statement's parameters
    // (SQLite 32766, PostgreSQL and MySQL 65535), so big batches go in several statements.
    const rowsPerStatement = Math.min(MAX_ROWS_PER_SWAP, Math.floor(this.dialect.maxParameters / (3 * this.keys.length + 2)));
    this.swapBytes ??= await this.maxSwapBytes(runner);
    let written = 0;
    for (const statement of splitSwaps(writes, rowsPerStatement, this.swapBytes)) {
      const [sql, values] = this.swapSql(statement);
      // The statement carries values (plaintext for encryptExisting and decryptAll): it is logged
      // without its parameters and runs on the connection directly, past TypeORM's query logging.
      this.dataSource.logger.logQuery(`${sql} -- ${values.length} parameters not logged`, undefined, runner);
      try {
        written += await this.dialect.execute(runner, sql, values);
      } catch (e) {
        throw refusedWrite(e, { entity: this.sc.entity, column: this.sc.path });
      }
    }
    return written;
  }

  /**
   * {@link swapLimits}' `maxBytes`, or less where the server caps statements lower: a quarter of
   * MySQL/MariaDB's `max_allowed_packet`, since the driver sends the values escaped into the
   * statement text (a Buffer as hex, twice its size) along with the SQL around them.
   */
  private async maxSwapBytes(runner: QueryRunner): Promise<number> {
    const packet = await this.dialect.maxStatementBytes(runner);
    return packet === undefined ? swapLimits.maxBytes : Math.min(swapLimits.maxBytes, Math.floor(packet / 4));
  }

  /**
   * One compare-and-swap UPDATE for up to a statement's worth of rows, and its parameters: the
   * table matched with the batch's `(key, previous, next)` rows by primary key, each row written
   * only where it still holds `previous` (see {@link Dialect.swapJoin} for the three forms).
   */
  swapSql(writes: readonly Swap[]): [string, unknown[]] {
    const params: ObjectLiteral = {};
    const types = this.metadata.primaryColumns.map((c) => this.dataSource.driver.normalizeType(c));
    const join = this.dialect.swapJoin;
    const tuples = writes.map((w, row) => {
      w.key.forEach((value, i) => (params[`k${row}_${i}`] = value));
      params[`p${row}`] = w.previous;
      params[`n${row}`] = w.next;
      // PostgreSQL types VALUES parameters as text: cast keys to their column's type.
      const keys = w.key.map((_, i) => (join === 'values' ? `CAST(:k${row}_${i} AS ${types[i]})` : `:k${row}_${i}`));
      return [...keys, `:p${row}`, `:n${row}`];
    });
    const names = [...this.keys.map((_, i) => `k${i}`), 'p', 'n'];
    const on = (col: (i: number) => string) => this.keys.map((k, i) => `t.${k} = ${col(i)}`).join(' AND ');
    let sql: string;
    switch (join) {
      case 'values':
        sql =
          `UPDATE ${this.table} AS t SET ${this.written} = v.n FROM (VALUES ${tuples.map((t) => `(${t.join(', ')})`).join(', ')}) AS v(${names.join(', ')}) ` +
          `WHERE ${on((i) => `v.k${i}`)} AND t.${this.column} = v.p`;
        break;
      case 'numbered-values': {
        const col = (i: number) => `v.column${i + 1}`;
        sql =
          `UPDATE ${this.table} AS t SET ${this.written} = ${col(this.keys.length + 1)} FROM (VALUES ${tuples.map((t) => `(${t.join(', ')})`).join(', ')}) AS v ` +
          `WHERE ${on(col)} AND t.${this.column} = ${col(this.keys.length)}`;
        break;
      }
      case 'case': {
        // Each key once in a CASE (keys in WHERE ... IN find the rows by the primary key index);
        // a row whose value changed keeps it (IF ... ELSE the column), so the driver's
        // changed-rows count is the number written.
        const single = this.keys.length === 1;
        const keyOf = (t: string[]) => t.slice(0, this.keys.length);
        const swap = (t: string[]) => `IF(${this.column} = ${this.dialect.binary}${t.at(-2)!}, ${t.at(-1)!}, ${this.written})`;
        const branches = tuples.map((t) =>
          single ? `WHEN ${t[0]!} THEN ${swap(t)}` : `WHEN ${this.keys.map((k, i) => `${k} = ${t[i]!}`).join(' AND ')} THEN ${swap(t)}`,
        );
        const keyList = tuples.map((t) => (single ? t[0]! : `(${keyOf(t).join(', ')})`)).join(', ');
        sql =
          `UPDATE ${this.table} SET ${this.written} = CASE ${single ? `${this.keys[0]!} ` : ''}${branches.join(' ')} ELSE ${this.written} END ` +
          `WHERE ${single ? this.keys[0]! : `(${this.keys.join(', ')})`} IN (${keyList})`;
        break;
      }
    }
    return this.escape(`${sql} ${INTERNAL_QUERY_MARKER}`, params);
  }

  /** Counts by bucket (`SELECT bucket, COUNT(*) ... GROUP BY`): NULL, empty, other plaintext, or the 20-character header. */
  async headerCounts(runner: QueryRunner): Promise<HeaderCounts> {
    const rows: { bucket: string; n: unknown }[] = await this.read(runner, this.headerCountsSql());
    const counts: HeaderCounts = { nulls: 0, plaintext: 0, empty: 0, headers: new Map() };
    for (const { bucket, n } of rows) {
      const count = Number(n);
      if (bucket === 'null') counts.nulls += count;
      else if (bucket === 'empty') ((counts.empty += count), (counts.plaintext += count));
      else if (bucket === 'plaintext') counts.plaintext += count;
      else counts.headers.set(bucket, (counts.headers.get(bucket) ?? 0) + count);
    }
    return counts;
  }

  /** `SELECT bucket, COUNT(*) ... GROUP BY 1` over NULL, empty, other plaintext and the header. */
  headerCountsSql(): string {
    const text = this.dialect.asText(this.column);
    return (
      `SELECT CASE WHEN ${this.column} IS NULL THEN 'null' WHEN LENGTH(${text}) = 0 THEN 'empty' WHEN ${this.startsWith(ENVELOPE_PREFIX)} ` +
      `THEN SUBSTR(${text}, 1, ${HEADER_LENGTH}) ELSE 'plaintext' END AS bucket, COUNT(*) AS n FROM ${this.table} GROUP BY 1 ${INTERNAL_QUERY_MARKER}`
    );
  }

  /** For an index walk: the condition of rows whose value has no index value. */
  missingIndex(): string {
    return `${this.written} IS NULL`;
  }

  /**
   * For an index walk: the rows (described keys) holding any of `values` in the index column, by
   * value; as many statements as the dialect's parameter limit needs.
   */
  async indexHolders(runner: QueryRunner, values: readonly string[]): Promise<Map<string, string>> {
    const keys = this.keys.map((k, i) => `${k} AS k${i}`).join(', ');
    const holders = new Map<string, string>();
    for (let from = 0; from < values.length; from += this.dialect.maxParameters) {
      const chunk = values.slice(from, from + this.dialect.maxParameters);
      const params = Object.fromEntries(chunk.map((v, i) => [`x${i}`, v]));
      const rows: ObjectLiteral[] = await runner.query(
        ...this.escape(
          `SELECT ${keys}, ${this.written} AS i FROM ${this.table} WHERE ${this.written} IN (${chunk.map((_, i) => `:x${i}`).join(', ')}) ${INTERNAL_QUERY_MARKER}`,
          params,
        ),
      );
      for (const row of rows) holders.set(String(row.i), this.describeKey(this.keys.map((_, i) => row[`k${i}`])));
    }
    return holders;
  }

  /**
   * Counts of a blind index (`target` index): rows with a value, those without an index value,
   * index values per key id, distinct index values and the largest bucket.
   */
  async indexCounts(
    runner: QueryRunner,
  ): Promise<{ values: number; missing: number; byKeyId: Record<string, number>; malformed: number; distinct: number; largestBucket: number }> {
    const [totals] = await this.read<ObjectLiteral[]>(
      runner,
      `SELECT COUNT(${this.column}) AS n, SUM(CASE WHEN ${this.column} IS NOT NULL AND ${this.written} IS NULL THEN 1 ELSE 0 END) AS missing, ` +
        `COUNT(DISTINCT ${this.written}) AS d FROM ${this.table} ${INTERNAL_QUERY_MARKER}`,
    );
    const [largest] = await this.read<ObjectLiteral[]>(
      runner,
      `SELECT MAX(c) AS m FROM (SELECT COUNT(*) AS c FROM ${this.table} WHERE ${this.written} IS NOT NULL GROUP BY ${this.written}) g ${INTERNAL_QUERY_MARKER}`,
    );
    return {
      values: Number(totals!.n),
      missing: Number(totals!.missing ?? 0),
      ...(await this.indexKeyCounts(runner)),
      distinct: Number(totals!.d),
      largestBucket: Number(largest?.m ?? 0),
    };
  }

  /** A blind index's values per index key id (one GROUP BY on the key id prefix), and the values that are not index values. */
  async indexKeyCounts(runner: QueryRunner): Promise<{ byKeyId: Record<string, number>; malformed: number }> {
    const perKey = await this.read<{ k: string; n: unknown }[]>(
      runner,
      `SELECT SUBSTR(${this.dialect.asText(this.written)}, 1, ${INDEX_PREFIX_LENGTH}) AS k, COUNT(*) AS n FROM ${this.table} WHERE ${this.written} IS NOT NULL GROUP BY 1 ${INTERNAL_QUERY_MARKER}`,
    );
    // Anything but `<8 lowercase hex>:` is not an index value's key id (and comes from whoever can write the table).
    const byKeyId: Record<string, number> = {};
    let malformed = 0;
    for (const { k, n } of perKey) {
      const id = keyIdOfIndexPrefix(String(k));
      if (id === undefined) malformed += Number(n);
      else byKeyId[id] = (byKeyId[id] ?? 0) + Number(n);
    }
    return { byKeyId, malformed };
  }

  /** A read outside the batches, retried while the database is busy (SQLite beside a writer). */
  private read<T>(runner: QueryRunner, sql: string, parameters?: unknown[]): Promise<T> {
    return retrying(this.dialect, () => runner.query(sql, parameters));
  }

  private escape(sql: string, params: ObjectLiteral): [string, unknown[]] {
    return escapeQuery(this.dataSource, sql, params);
  }
}

/**
 * Splits a batch's swaps, in order, into statements of at most `maxRows` rows whose parameters
 * (keys, previous and next values) add up to at most `maxBytes` bytes; a row bigger than
 * `maxBytes` goes alone.
 *
 * @example
 * ```ts
 * splitSwaps(writes, 1000, MAX_SWAP_BYTES).map((statement) => statement.length); // e.g. [19, 19, 7]
 * ```
 */
export function splitSwaps(writes: readonly Swap[], maxRows: number, maxBytes: number): Swap[][] {
  const statements: Swap[][] = [];
  let statement: Swap[] = [];
  let bytes = 0;
  for (const write of writes) {
    const size = swapBytes(write);
    if (statement.length > 0 && (statement.length >= maxRows || bytes + size > maxBytes)) {
      statements.push(statement);
      statement = [];
      bytes = 0;
    }
    statement.push(write);
    bytes += size;
  }
  if (statement.length > 0) statements.push(statement);
  return statements;
}

/** Bytes a swap's parameters take: strings as UTF-8, Buffers as they are, anything else as its text. */
function swapBytes(write: Swap): number {
  let bytes = 0;
  for (const value of [...write.key, write.previous, write.next]) {
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (value instanceof Uint8Array) bytes += value.byteLength;
    else if (value !== null && value !== undefined) bytes += String(value).length;
  }
  return bytes;
}
