import type { DataSource, EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm';
import { ENVELOPE_PREFIX, envelopeHeader } from '../envelope/format';
import type { SealedColumn } from '../metadata/column-plan';
import { INTERNAL_QUERY_MARKER } from '../typeorm/where-guard';
import type { RotationMode } from './report';

/** One compare-and-swap: write `next` where the row with `key` still holds `previous`. */
export interface Swap {
  key: unknown[];
  previous: unknown;
  next: unknown;
}

const MAX_PARAMETERS = 30_000;
const MAX_ROWS_PER_SWAP = 1000;

/** How a batch SELECT locks its rows. */
export type RowLock = 'skip' | 'wait' | 'none';

/** Locking clauses per dialect; SQLite has one writer and needs none. */
const LOCK_CLAUSE: Record<RowLock, Record<string, string> | undefined> = {
  skip: { postgres: ' FOR UPDATE SKIP LOCKED', mysql: ' FOR UPDATE SKIP LOCKED', mariadb: ' FOR UPDATE SKIP LOCKED' },
  wait: { postgres: ' FOR UPDATE', mysql: ' FOR UPDATE', mariadb: ' FOR UPDATE' },
  none: undefined,
};

/**
 * SQL for one encrypted column of one table, in the dialect of its DataSource. Every statement
 * ends with the internal marker, so the query guard lets it compare envelopes.
 */
export class ColumnSql {
  readonly table: string;
  readonly column: string;
  private readonly keys: string[];
  private readonly type: string;
  /** MySQL/MariaDB compare text case-insensitively by default; envelopes must match exactly. */
  private readonly binary: string;

  constructor(
    private readonly dataSource: DataSource,
    readonly metadata: EntityMetadata,
    readonly sc: SealedColumn,
  ) {
    const q = (name: string) => dataSource.driver.escape(name);
    this.table = metadata.tablePath.split('.').map(q).join('.');
    this.column = q(sc.column.databaseName);
    this.keys = metadata.primaryColumns.map((c) => q(c.databaseName));
    this.type = dataSource.driver.options.type;
    this.binary = this.type === 'mysql' || this.type === 'mariadb' ? 'BINARY ' : '';
  }

  /** The condition selecting the rows a mode must touch, from the envelope prefix. */
  needsWork(mode: RotationMode, activeKeyId: string): string {
    switch (mode) {
      case 'rotate':
        return `${this.startsWith(ENVELOPE_PREFIX)} AND NOT ${this.startsWith(envelopeHeader(activeKeyId))}`;
      case 'encryptExisting':
        return `NOT ${this.startsWith(ENVELOPE_PREFIX)}`;
      case 'decryptAll':
        return this.startsWith(ENVELOPE_PREFIX);
      case 'verify':
        return '1 = 1';
    }
  }

  /**
   * `col` starts with `literal`, exactly: LIKE ignores case on MySQL/MariaDB (default collations)
   * and SQLite, which would take plaintext such as 'Sealed: yes' for an envelope.
   */
  private startsWith(literal: string): string {
    return `(SUBSTR(${this.column}, 1, ${literal.length}) = ${this.binary}'${literal}')`;
  }

  async count(runner: QueryRunner, condition: string): Promise<number> {
    const rows = await runner.query(`SELECT COUNT(*) AS n FROM ${this.table} WHERE ${this.column} IS NOT NULL AND ${condition} ${INTERNAL_QUERY_MARKER}`);
    return Number(rows[0].n);
  }

  /**
   * The next batch after `cursor` (keyset pagination on the primary key). `lock`: `skip` takes
   * row locks and skips rows another process holds, `wait` waits for them, `none` reads only.
   */
  async batch(runner: QueryRunner, condition: string, cursor: unknown[] | undefined, size: number, lock: RowLock): Promise<{ key: unknown[]; value: unknown }[]> {
    const keys = this.keys.map((k, i) => `${k} AS k${i}`).join(', ');
    const after = cursor ? ` AND (${this.keys.join(', ')}) > (${cursor.map((_, i) => `:c${i}`).join(', ')})` : '';
    const [sql, params] = this.escape(
      `SELECT ${keys}, ${this.column} AS v FROM ${this.table} WHERE ${this.column} IS NOT NULL AND ${condition}${after} ` +
        `ORDER BY ${this.keys.join(', ')} LIMIT ${size}${LOCK_CLAUSE[lock]?.[this.type] ?? ''} ${INTERNAL_QUERY_MARKER}`,
      Object.fromEntries((cursor ?? []).map((value, i) => [`c${i}`, value])),
    );
    const rows: ObjectLiteral[] = await runner.query(sql, params);
    return rows.map((row) => ({ key: this.keys.map((_, i) => row[`k${i}`]), value: row.v }));
  }

  /** `id=42` or `a=1, b=2` for a batch row's key. */
  describeKey(key: unknown[]): string {
    return this.metadata.primaryColumns.map((c, i) => `${c.propertyPath}=${String(key[i])}`).join(', ');
  }

  /**
   * Compare-and-swap for a whole batch in one statement: each row gets its `next` value only
   * where the column still holds its `previous` one. Returns how many rows were written; the
   * others changed meanwhile and keep what the application wrote.
   */
  async swapMany(runner: QueryRunner, writes: readonly Swap[]): Promise<number> {
    // Each row takes 3 parameters per key column plus 2; databases cap a statement's parameters
    // (SQLite 32766, PostgreSQL and MySQL 65535), so big batches go in several statements.
    const rowsPerStatement = Math.min(MAX_ROWS_PER_SWAP, Math.floor(MAX_PARAMETERS / (3 * this.keys.length + 2)));
    let written = 0;
    for (let start = 0; start < writes.length; start += rowsPerStatement) {
      written += await this.swapStatement(runner, writes.slice(start, start + rowsPerStatement));
    }
    return written;
  }

  private async swapStatement(runner: QueryRunner, writes: readonly Swap[]): Promise<number> {
    const params: ObjectLiteral = {};
    const match = (row: number) => this.keys.map((k, i) => `${k} = :k${row}_${i}`).join(' AND ');
    const tuple = (row: number) => (this.keys.length === 1 ? `:k${row}_0` : `(${this.keys.map((_, i) => `:k${row}_${i}`).join(', ')})`);
    writes.forEach((w, row) => {
      w.key.forEach((value, i) => (params[`k${row}_${i}`] = value));
      params[`n${row}`] = w.next;
      params[`p${row}`] = w.previous;
    });
    const rows = writes.map((_, row) => row);
    const keys = this.keys.length === 1 ? this.keys[0] : `(${this.keys.join(', ')})`;
    // Flat expressions only (CASE lists, an IN list): SQLite limits expression depth to 1000.
    const [sql, values] = this.escape(
      `UPDATE ${this.table} SET ${this.column} = CASE ${rows.map((r) => `WHEN ${match(r)} THEN :n${r}`).join(' ')} END ` +
        `WHERE ${keys} IN (${rows.map(tuple).join(', ')}) ` +
        `AND ${this.column} = ${this.binary}CASE ${rows.map((r) => `WHEN ${match(r)} THEN :p${r}`).join(' ')} END ${INTERNAL_QUERY_MARKER}`,
      params,
    );
    const result = await runner.query(sql, values, true);
    return Number(result.affected ?? 0);
  }

  /** `SELECT bucket, COUNT(*)` where bucket is null, plaintext, or the 20-character envelope header. */
  async headerCounts(runner: QueryRunner): Promise<{ bucket: string; n: number }[]> {
    const header = envelopeHeader('00000000').length;
    const rows: { bucket: string; n: unknown }[] = await runner.query(
      `SELECT CASE WHEN ${this.column} IS NULL THEN 'null' WHEN ${this.startsWith(ENVELOPE_PREFIX)} ` +
        `THEN SUBSTR(${this.column}, 1, ${header}) ELSE 'plaintext' END AS bucket, COUNT(*) AS n FROM ${this.table} GROUP BY 1 ${INTERNAL_QUERY_MARKER}`,
    );
    return rows.map((r) => ({ bucket: r.bucket, n: Number(r.n) }));
  }

  private escape(sql: string, params: ObjectLiteral): [string, unknown[]] {
    // 0.3 takes a third argument (native parameters) and fails without it; 1.x takes two.
    const escape = this.dataSource.driver.escapeQueryWithParameters as (sql: string, params: ObjectLiteral, native: ObjectLiteral) => [string, unknown[]];
    return escape.call(this.dataSource.driver, sql, params, {});
  }
}
