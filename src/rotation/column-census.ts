import type { QueryRunner } from 'typeorm';
import { keyIdOfHeader } from '../envelope/format';
import type { KeySource } from '../keys/key-source';
import type { ColumnCensus, RotationMode } from './report';
import type { ColumnSql } from './sql';

/** Counts one column's NULL, plaintext and per-key values with SQL on the envelope prefix. */
export async function censusOf(runner: QueryRunner, sql: ColumnSql, keys: KeySource): Promise<ColumnCensus & { empty: number }> {
  const counts = await sql.headerCounts(runner);
  const census = {
    entity: sql.sc.entity,
    column: sql.sc.path,
    table: sql.metadata.tablePath,
    total: counts.nulls + counts.plaintext,
    nulls: counts.nulls,
    plaintext: counts.plaintext,
    empty: counts.empty,
    byKeyId: {} as Record<string, number>,
    malformed: 0,
    unknownKeyIds: [] as string[],
  };
  for (const [header, n] of counts.headers) {
    census.total += n;
    const keyId = keyIdOfHeader(header);
    if (keyId === undefined) census.malformed += n;
    else census.byKeyId[keyId] = (census.byKeyId[keyId] ?? 0) + n;
  }
  census.unknownKeyIds = Object.keys(census.byKeyId).filter((id) => !keys.has(id));
  return census;
}

/** How many values keep a column from a mode's goal (ColumnReport.remaining, before failures). */
export function valuesLeft(mode: Exclude<RotationMode, 'verify'>, census: ColumnCensus, activeKeyId: string): number {
  const sealed = Object.values(census.byKeyId).reduce((a, b) => a + b, 0);
  switch (mode) {
    case 'rotate':
      return census.total - census.nulls - (census.byKeyId[activeKeyId] ?? 0);
    case 'encryptExisting':
      return census.plaintext + census.malformed;
    case 'decryptAll':
      return sealed + census.malformed;
  }
}

/**
 * A warning when a column with rows holds nothing but NULL and empty strings: what TypeORM's
 * `changeColumn` leaves after it drops and re-adds a column to change its type.
 */
export function emptiedWarning(census: ColumnCensus & { empty: number }): string | undefined {
  if (census.total === 0 || census.nulls + census.empty < census.total) return undefined;
  return (
    `${census.entity}.${census.column}: every one of its ${census.total} rows is NULL or empty. If its type was just changed ` +
    'with queryRunner.changeColumn() or a generated migration, the values may have been dropped (PostgreSQL and MySQL drop and re-add the column): restore from the backup and widen it with widenColumn() instead'
  );
}
