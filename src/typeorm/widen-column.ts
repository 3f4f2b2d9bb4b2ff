import type { QueryRunner, Table, TableColumn } from 'typeorm';
import { dataSourceOf } from '../compat/typeorm';
import { printable, SealedError } from '../errors';

/** Options of {@link widenColumn}. */
export interface WidenColumnOptions {
  /**
   * The new type. Default: `'text'`. On MySQL/MariaDB `text` holds 65,535 bytes: take
   * `'mediumtext'` or `'longtext'` for large values. PostgreSQL and SQLite use `text` for all three.
   */
  type?: 'text' | 'mediumtext' | 'longtext';
}

/**
 * Changes a column's type, in place and keeping every value, to a text type that holds envelopes,
 * before `@Encrypted()` goes on it. Use it in the migration that adopts encryption instead of
 * `queryRunner.changeColumn()`, which on PostgreSQL and MySQL/MariaDB drops the column and adds it
 * again when its type changes: every value is lost (a nullable column becomes all NULL, a NOT NULL
 * one all empty on MySQL). It emits:
 * - PostgreSQL: `ALTER TABLE t ALTER COLUMN c DROP DEFAULT, ALTER COLUMN c TYPE text USING c::text`;
 * - MySQL/MariaDB: `ALTER TABLE t MODIFY c <type> [NOT] NULL`, keeping nullability, character set,
 *   collation and comment;
 * - SQLite: TypeORM's `changeColumn`, which there rebuilds the table and copies every row.
 *
 * The column's default is dropped on every database: a default would be stored as plaintext in
 * every row inserted without the column. A column covered by a primary key, a unique constraint or
 * a unique index (alone or with other columns) is refused with `SEALED_CONFIG` naming it, before
 * anything changes: ciphertext uses random nonces, so a unique constraint on it never refuses a
 * duplicate (and MySQL/MariaDB cannot index a TEXT column without a prefix length). Drop it first;
 * to keep values unique, put the constraint on a blind index (a keyed hash of the value in a
 * column of its own).
 *
 * On MySQL/MariaDB, `ALTER TABLE` commits the open transaction, with every statement the migration
 * ran before it, and cannot be rolled back: if the migration fails later, the column stays text
 * (still holding the plaintext) and those statements stay committed. When the query runner is in a
 * transaction (a migration's), widenColumn starts a new one right after the ALTER (at the
 * session's default isolation level), so what follows in the migration, such as
 * `KeyRotator.forMigration(queryRunner).encryptExisting()`, runs in a transaction as TypeORM
 * expects and is rolled back if the migration fails. Call it first in the migration, outside a
 * nested transaction (the ALTER ends savepoints too).
 *
 * @example
 * ```ts
 * async up(queryRunner: QueryRunner) {
 *   await widenColumn(queryRunner, 'customer', 'phone');
 *   await KeyRotator.forMigration(queryRunner).encryptExisting();
 * }
 * ```
 */
export async function widenColumn(queryRunner: QueryRunner, table: string, column: string, options: WidenColumnOptions = {}): Promise<void> {
  const type = options.type ?? 'text';
  if (!['text', 'mediumtext', 'longtext'].includes(type)) throw new SealedError('SEALED_CONFIG', 'widenColumn: type must be text, mediumtext or longtext');
  const found = await queryRunner.getTable(table);
  const existing = found?.findColumnByName(column);
  if (!found || !existing) {
    throw new SealedError('SEALED_CONFIG', `widenColumn: the database has no column ${column} in table ${table}`);
  }
  refuseKeys(found, existing, table);
  const driver = dataSourceOf(queryRunner).driver;
  const q = (name: string) => driver.escape(name);
  const tableName = found.name.split('.').map(q).join('.');
  const expression = await uniqueByExpression(queryRunner, String(driver.options.type), tableName, found.name, column);
  if (expression !== undefined) refuseCovered(table, existing, expression);
  switch (String(driver.options.type)) {
    case 'postgres':
      await queryRunner.query(`ALTER TABLE ${tableName} ALTER COLUMN ${q(column)} DROP DEFAULT, ALTER COLUMN ${q(column)} TYPE text USING ${q(column)}::text`);
      return;
    case 'mysql':
    case 'mariadb':
      await queryRunner.query(`ALTER TABLE ${tableName} MODIFY ${q(column)} ${mysqlDefinition(type, existing)}`);
      // The ALTER committed the transaction (an implicit commit): open the one TypeORM believes is open.
      if (queryRunner.isTransactionActive) await queryRunner.query('START TRANSACTION');
      return;
    case 'better-sqlite3':
    case 'sqlite':
      await queryRunner.changeColumn(found, existing, widened(existing));
      return;
    default:
      throw new SealedError('SEALED_CONFIG', 'widenColumn supports postgres, mysql, mariadb, better-sqlite3 and sqlite');
  }
}

/**
 * Refuses a column in the primary key or covered by a unique constraint or unique index: on
 * random-nonce ciphertext they never refuse a duplicate. Names come from the database: printable.
 */
function refuseKeys(table: Table, column: TableColumn, tableName: string): void {
  const where = `widenColumn: ${tableName}.${column.name}`;
  if (column.isPrimary) throw new SealedError('SEALED_CONFIG', `${where} is in the primary key: an encrypted column cannot be a key`);
  const covers = (columns: readonly string[]) => columns.includes(column.name);
  const unique = table.uniques.find((u) => covers(u.columnNames));
  const index = table.indices.find((i) => i.isUnique && covers(i.columnNames));
  const found = unique ? `unique constraint ${unique.name ?? '(unnamed)'}` : index ? `unique index ${index.name ?? '(unnamed)'}` : undefined;
  if (found !== undefined) refuseCovered(tableName, column, found);
}

/** `SEALED_CONFIG`: the column is covered by `what` (a unique constraint or index, named). */
function refuseCovered(tableName: string, column: TableColumn, what: string): never {
  const where = `widenColumn: ${tableName}.${column.name}`;
  throw new SealedError(
    'SEALED_CONFIG',
    printable(
      `${where} is covered by the ${what}: drop it first (nothing was changed). Ciphertext uses random nonces, so a unique ` +
        'constraint on it never refuses a duplicate; to keep values unique, put the constraint on a blind index (a keyed hash of the value in a column of its own)',
    ),
  );
}

const sqlString = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

function mysqlDefinition(type: string, column: TableColumn): string {
  return [
    type.toUpperCase(),
    column.charset ? `CHARACTER SET ${column.charset}` : '',
    column.collation ? `COLLATE ${column.collation}` : '',
    column.isNullable ? 'NULL' : 'NOT NULL',
    column.comment ? `COMMENT ${sqlString(column.comment)}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function widened(column: TableColumn): TableColumn {
  const next = column.clone();
  next.type = 'text';
  next.length = '';
  next.default = undefined; // an encrypted column has no default: it would be stored as plaintext
  return next;
}

/**
 * A unique index on an expression of the column (`lower(email)`), or a PostgreSQL exclusion
 * constraint on it, which `getTable()` does not list: `unique index <name>` or
 * `exclusion constraint <name>`, else undefined. MySQL/MariaDB have no such indexes on text.
 */
async function uniqueByExpression(
  queryRunner: QueryRunner,
  driverType: string,
  quotedTable: string,
  table: string,
  column: string,
): Promise<string | undefined> {
  if (driverType === 'postgres') {
    // An index expression is a node tree that names the column by its number (":varattno 3").
    const rows: { name: string; exclusion: boolean }[] = await queryRunner.query(
      `SELECT c.relname AS name, i.indisexclusion AS exclusion FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid ` +
        `JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = $2 ` +
        `WHERE i.indrelid = $1::regclass AND (i.indisunique OR i.indisexclusion) ` +
        `AND (a.attnum = ANY(i.indkey) OR i.indexprs::text ~ (':varattno ' || a.attnum || '\\M')) ORDER BY 1`,
      [quotedTable, column],
    );
    const row = rows[0];
    return row === undefined ? undefined : `${row.exclusion ? 'exclusion constraint' : 'unique index'} ${row.name}`;
  }
  if (driverType === 'sqlite' || driverType === 'better-sqlite3') {
    const rows: { name: string; sql: string | null }[] = await queryRunner.query(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, [
      table,
    ]);
    const word = new RegExp(`(^|[^A-Za-z0-9_$])[\\["'\`]?${column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\]"'\`]?([^A-Za-z0-9_$]|$)`, 'i');
    const row = rows.find((r) => r.sql !== null && /^\s*CREATE\s+UNIQUE\s+INDEX/i.test(r.sql) && word.test(indexedTerms(r.sql)));
    return row === undefined ? undefined : `unique index ${row.name}`;
  }
  return undefined;
}

/** What a `CREATE INDEX` statement indexes: the text inside its first balanced parentheses (not its WHERE). */
function indexedTerms(sql: string): string {
  const start = sql.indexOf('(');
  let depth = 0;
  for (let i = start; i >= 0 && i < sql.length; i++) {
    if (sql[i] === '(') depth++;
    else if (sql[i] === ')' && --depth === 0) return sql.slice(start + 1, i);
  }
  return '';
}
