import type { DataSource, QueryRunner } from 'typeorm';
import { quotedTablePath } from '../compat/dialect';

/** Column types (TypeORM's lowercase names) whose values are text that holds an envelope as it is. */
const TEXT_TYPES: ReadonlySet<string> = new Set([
  'text',
  'varchar',
  'character varying',
  'char',
  'character',
  'tinytext',
  'mediumtext',
  'longtext',
  'nvarchar',
  'clob',
]);

/**
 * The database type of every column of a table, as TypeORM reads it (`getTable`), lowercase:
 * `text[]` for a PostgreSQL array of text, and `json` for a MariaDB JSON column (a LONGTEXT with a
 * `json_valid` check, which TypeORM reports as longtext and which refuses envelopes). Empty when
 * the table does not exist.
 *
 * @example
 * ```ts
 * (await columnTypesOf(runner, dataSource, 'customer')).get('phone'); // 'character varying'
 * ```
 */
export async function columnTypesOf(runner: QueryRunner, dataSource: DataSource, tablePath: string): Promise<Map<string, string>> {
  const types = new Map<string, string>();
  const table = await runner.getTable(tablePath);
  if (!table) return types;
  const escape = (name: string) => dataSource.driver.escape(name);
  const mysql = ['mysql', 'mariadb'].includes(String(dataSource.driver.options.type));
  const ddl = mysql ? await createTableSql(runner, quotedTablePath(dataSource, tablePath)) : '';
  for (const column of table.columns) {
    const json = mysql && ddl.includes(`json_valid(${escape(column.name)})`.toLowerCase());
    types.set(column.name, json ? 'json' : `${column.type.toLowerCase()}${column.isArray ? '[]' : ''}`);
  }
  return types;
}

/** MySQL/MariaDB's own `CREATE TABLE` statement of a table, lowercase (CHECK constraints are not in `getTable`). */
async function createTableSql(runner: QueryRunner, quotedTable: string): Promise<string> {
  const rows: Record<string, unknown>[] = await runner.query(`SHOW CREATE TABLE ${quotedTable}`);
  return String(rows[0]?.['Create Table'] ?? '').toLowerCase();
}

/**
 * Whether a column of this database type (from {@link columnTypesOf}) stores an envelope as text:
 * a text type, or on SQLite any declared type with text affinity (it contains CHAR, CLOB or TEXT
 * and not INT). A boolean, integer, JSON or date column is refused even where it could store the
 * string: its legacy values come back from the driver as booleans, numbers, objects or dates.
 *
 * @example
 * ```ts
 * holdsEnvelopes('character varying', 'postgres'); // true
 * holdsEnvelopes('jsonb', 'postgres'); // false
 * holdsEnvelopes('native character', 'sqlite'); // true
 * ```
 */
export function holdsEnvelopes(type: string, driverType: string): boolean {
  if (driverType === 'sqlite' || driverType === 'better-sqlite3') return !/int/i.test(type) && /char|clob|text/i.test(type);
  return TEXT_TYPES.has(type);
}
