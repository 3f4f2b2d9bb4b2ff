import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { fieldCipherOf } from '../cipher/registry';
import { describeKey, sealedColumnsOf } from '../metadata/column-plan';

/** Options of {@link openRawRows}. */
export interface OpenRawRowsOptions {
  /**
   * The query builder alias when rows come from `getRawMany()`/`getRawOne()` (keys are
   * `<alias>_<column>`). Default: none, keys are column database names as `query()` returns them.
   */
  alias?: string;
}

/**
 * Decrypts the encrypted columns of raw rows in place (raw results never pass through
 * `afterLoad`) and returns them, with the DataSource's sealed subscriber's keys. Rows must hold
 * the scope column of scoped fields and the primary key of row-bound ones. Synchronous: with a
 * key vault, keys created by other processes since it loaded need `await vault.reload()` first.
 *
 * @example
 * ```ts
 * const rows = await dataSource.query('SELECT * FROM "user"');
 * openRawRows(dataSource, User, rows);               // rows[0].email is plaintext now
 * const raw = await repo.createQueryBuilder('u').getRawMany();
 * openRawRows(dataSource, User, raw, { alias: 'u' }); // raw[0].u_email
 * ```
 */
export function openRawRows<T extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<ObjectLiteral>,
  rows: T[],
  options: OpenRawRowsOptions = {},
): T[] {
  const cipher = fieldCipherOf(dataSource);
  const metadata = dataSource.getMetadata(entity);
  const keyOf = (column: ColumnMetadata) => (options.alias === undefined ? column.databaseName : `${options.alias}_${column.databaseName}`);
  const primary = metadata.primaryColumns.map(keyOf);
  for (const row of rows) {
    const keyValues = () => (primary.every((key) => row[key] !== undefined) ? primary.map((key) => row[key]) : undefined);
    for (const sc of sealedColumnsOf(metadata)) {
      const key = keyOf(sc.column);
      const stored = row[key];
      if (stored === undefined || stored === null) continue;
      const ctx = {
        primaryKey: () => {
          const values = keyValues();
          return values && describeKey(metadata, values);
        },
        row: keyValues,
        ...(sc.scope ? { scope: () => row[keyOf(sc.scope!)] } : {}),
      };
      (row as ObjectLiteral)[key] = cipher.open(sc, stored, ctx);
    }
  }
  return rows;
}
