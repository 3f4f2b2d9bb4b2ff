import type { QueryRunner, TableColumn } from 'typeorm';
import { dataSourceOf } from '../compat/typeorm';
import { SealedError } from '../errors';

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
 * - PostgreSQL: `ALTER TABLE t ALTER COLUMN c TYPE text USING c::text`;
 * - MySQL/MariaDB: `ALTER TABLE t MODIFY c <type> [NOT] NULL`, keeping nullability, character set,
 *   collation and comment (a default is dropped: an encrypted column cannot have one);
 * - SQLite: TypeORM's `changeColumn`, which there rebuilds the table and copies every row.
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
  const driver = dataSourceOf(queryRunner).driver;
  const q = (name: string) => driver.escape(name);
  const tableName = found.name.split('.').map(q).join('.');
  switch (String(driver.options.type)) {
    case 'postgres':
      await queryRunner.query(`ALTER TABLE ${tableName} ALTER COLUMN ${q(column)} TYPE text USING ${q(column)}::text`);
      return;
    case 'mysql':
    case 'mariadb':
      await queryRunner.query(`ALTER TABLE ${tableName} MODIFY ${q(column)} ${mysqlDefinition(type, existing)}`);
      return;
    case 'better-sqlite3':
    case 'sqlite':
      await queryRunner.changeColumn(found, existing, widened(existing));
      return;
    default:
      throw new SealedError('SEALED_CONFIG', 'widenColumn supports postgres, mysql, mariadb, better-sqlite3 and sqlite');
  }
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
  return next;
}
