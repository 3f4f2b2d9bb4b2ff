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
  if (found === undefined) return;
  throw new SealedError(
    'SEALED_CONFIG',
    printable(
      `${where} is covered by the ${found}: drop it first (nothing was changed). Ciphertext uses random nonces, so a unique ` +
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
