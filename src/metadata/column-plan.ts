import type { DataSource, EntityMetadata } from 'typeorm';
import { dataSourceOf } from '../data-source-of';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { ValueType } from '../codec/value-type';
import { bindingBytes } from '../envelope/sealer';
import { sealedPropertySpec } from './registry';

/** Everything the subscriber needs about one encrypted column of one entity. */
export interface SealedColumn {
  readonly column: ColumnMetadata;
  /** Entity name, for errors. */
  readonly entity: string;
  /** Property path, for errors (`address.street`). */
  readonly path: string;
  readonly valueType: ValueType;
  /** Associated data suffix: `table \0 column`. */
  readonly binding: Uint8Array;
  /** Longest envelope the column holds, when the column declares a length. */
  readonly maxLength: number | undefined;
}

const plans = new WeakMap<EntityMetadata, readonly SealedColumn[]>();
const TINYTEXT_LENGTH = 255;

/**
 * The encrypted columns of an entity, found from TypeORM metadata (embedded and inherited columns
 * included), computed once per EntityMetadata.
 */
export function sealedColumnsOf(metadata: EntityMetadata): readonly SealedColumn[] {
  let plan = plans.get(metadata);
  if (!plan) plans.set(metadata, (plan = buildPlan(metadata)));
  return plan;
}

function buildPlan(metadata: EntityMetadata): readonly SealedColumn[] {
  const out: SealedColumn[] = [];
  for (const column of metadata.columns) {
    const spec = sealedPropertySpec(column.target, column.propertyName);
    if (!spec) continue;
    const length = column.type === 'tinytext' ? TINYTEXT_LENGTH : Number(driverLength(metadata, column)) || undefined;
    out.push({
      column,
      entity: metadata.name,
      path: column.propertyPath,
      valueType: spec.valueType,
      binding: bindingBytes(spec.boundTo.table ?? metadata.tableName, spec.boundTo.column ?? column.databaseName),
      maxLength: length,
    });
  }
  return Object.freeze(out);
}

/**
 * The column's effective length from the driver (MySQL's varchar defaults to 255); undefined for
 * metadata built outside a DataSource.
 */
function driverLength(metadata: EntityMetadata, column: ColumnMetadata): string | undefined {
  return (dataSourceOf(metadata) as DataSource | undefined)?.driver.getColumnLength(column);
}

/** `id=42` or `a=1, b=2`: the row's primary key for error messages; undefined when not loaded. */
export function describePrimaryKey(metadata: EntityMetadata, entity: object): string | undefined {
  const parts: string[] = [];
  for (const column of metadata.primaryColumns) {
    const value = column.getEntityValue(entity);
    if (value === undefined) return undefined;
    parts.push(`${column.propertyPath}=${String(value)}`);
  }
  return parts.length ? parts.join(', ') : undefined;
}
