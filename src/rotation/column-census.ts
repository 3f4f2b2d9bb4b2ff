import type { QueryRunner } from 'typeorm';
import { keyIdOfHeader } from '../envelope/format';
import type { KeySource } from '../keys/key-source';
import type { ColumnCensus, IndexCensus, RotationMode } from './report';
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
    shredded: 0,
    unknownKeyIds: [] as string[],
  };
  for (const [header, n] of counts.headers) {
    census.total += n;
    const keyId = keyIdOfHeader(header);
    if (keyId === undefined) census.malformed += n;
    else census.byKeyId[keyId] = (census.byKeyId[keyId] ?? 0) + n;
  }
  const shredded = keys.shreddedKeyIds ?? [];
  for (const id of shredded) census.shredded += census.byKeyId[id] ?? 0;
  census.unknownKeyIds = Object.keys(census.byKeyId).filter((id) => !keys.has(id) && !shredded.includes(id));
  return census;
}

/** How many values keep a column from a mode's goal (ColumnReport.remaining, before failures). */
export function valuesLeft(mode: Exclude<RotationMode, 'verify' | 'reindex'>, census: ColumnCensus, activeKeyId: string): number {
  const sealed = Object.values(census.byKeyId).reduce((a, b) => a + b, 0);
  switch (mode) {
    case 'rotate':
      return census.total - census.nulls - (census.byKeyId[activeKeyId] ?? 0) - census.shredded;
    case 'encryptExisting':
      return census.plaintext + census.malformed;
    case 'decryptAll':
      return sealed - census.shredded + census.malformed;
  }
}

/**
 * A warning when a column with rows holds nothing but NULL and empty strings: what TypeORM's
 * `changeColumn` leaves after it drops and re-adds a column to change its type.
 */
export function emptiedWarning(census: ColumnCensus & { empty: number }): string | undefined {
  if (census.total === 0 || census.nulls + census.empty < census.total) return undefined;
  return (
    `${census.entity}.${census.column}: every one of its ${census.total} rows is NULL or empty (as expected of an optional field no row has set). If its type was just changed ` +
    'with queryRunner.changeColumn() or a generated migration, the values may have been dropped (PostgreSQL and MySQL drop and re-add the column): restore from the backup and widen it with widenColumn() instead'
  );
}

/** What rows with a value but no index value mean, for warnings. */
export function missingIndexNote(rows: number): string {
  return `${rows} rows have a value but no index value, so lookups miss them: run reindex`;
}

/** The index key ids counted in `byKeyId` that `indexKeys` lacks (none without a ring to check against). */
export function lackingKeyIds(byKeyId: Record<string, number>, indexKeys: KeySource | undefined): string[] {
  return indexKeys ? Object.keys(byKeyId).filter((id) => !indexKeys.has(id)) : [];
}

/** Counts one blind index with SQL on its column (no value is opened). */
export async function indexCensusOf(runner: QueryRunner, sql: ColumnSql, indexKeys: KeySource | undefined): Promise<IndexCensus> {
  const counts = await sql.indexCounts(runner);
  const indexed = counts.values - counts.missing;
  return {
    entity: sql.sc.entity,
    column: sql.sc.path,
    blindIndex: sql.sc.index!.column.propertyPath,
    table: sql.metadata.tablePath,
    ...counts,
    unknownKeyIds: lackingKeyIds(counts.byKeyId, indexKeys),
    largestBucketShare: indexed > 0 ? counts.largestBucket / indexed : 0,
  };
}

/** Share of an index's rows at which one shared index value is worth a warning (with more than {@link LEAKY_BUCKET_ROWS} rows). */
const LEAKY_BUCKET_SHARE = 0.05;
const LEAKY_BUCKET_ROWS = 10;

/**
 * A warning about a blind index: values without an index value, index values under an index key
 * other than the active one, or one index value shared by a large share of the rows (whoever
 * reads the table sees how often that value occurs).
 */
export function indexWarning(index: IndexCensus, indexKeys: KeySource | undefined): string | undefined {
  const notes: string[] = [];
  if (index.missing > 0) notes.push(missingIndexNote(index.missing));
  if (index.malformed > 0)
    notes.push(`${index.malformed} values of the index column are not index values (written by something else): set them to NULL and run reindex`);
  const old = Object.keys(index.byKeyId).filter((id) => id !== indexKeys?.activeKeyId);
  if (indexKeys && old.length > 0) {
    const lacking = index.unknownKeyIds;
    notes.push(
      `index values under ${old.join(', ')}, not the active index key${lacking.length ? ` (${lacking.join(', ')} not in the index key ring: lookups miss those rows)` : ''}: run reindex`,
    );
  }
  if (index.largestBucket > LEAKY_BUCKET_ROWS && index.largestBucketShare >= LEAKY_BUCKET_SHARE) {
    notes.push(
      `one index value is shared by ${index.largestBucket} of ${index.values - index.missing} rows (${(100 * index.largestBucketShare).toFixed(1)}%): whoever reads the table sees how often that value occurs; ` +
        'a field with few possible values reveals their distribution through an index (README, "What an index leaks")',
    );
  }
  return notes.length ? `${index.entity}.${index.column} (index ${index.blindIndex}): ${notes.join('; ')}` : undefined;
}
