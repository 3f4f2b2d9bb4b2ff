import type { DataSource, EntityMetadata } from 'typeorm';
import { dataSourceOf } from '../compat/typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { ValueType } from '../codec/value-type';
import { bindingBytes } from '../envelope/sealer';
import { printable, SealedError } from '../errors';
import type { BlindIndexSpec } from './blind-index';
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
  /** The field's blind index, when it has one. */
  readonly index?: SealedIndex | undefined;
  /** The column whose value is the row's key scope (`@Encrypted({ scope })`), when the field is scoped. */
  readonly scope?: ColumnMetadata | undefined;
}

/** A blind index of one encrypted column: its spec and its own column. */
export interface SealedIndex extends BlindIndexSpec {
  readonly column: ColumnMetadata;
}

const plans = new WeakMap<EntityMetadata, readonly SealedColumn[]>();

/** Bytes each MySQL/MariaDB text type holds; envelopes are ASCII, so characters equal bytes. */
const MYSQL_TEXT_BYTES: Readonly<Record<string, number>> = { tinytext: 255, text: 65_535, mediumtext: 16_777_215, longtext: 4_294_967_295 };

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
    const length = textTypeLimit(metadata, column) ?? (Number(driverLength(metadata, column)) || undefined);
    out.push({
      column,
      entity: metadata.name,
      path: column.propertyPath,
      valueType: spec.valueType,
      binding: bindingBytes(spec.boundTo.table ?? metadata.tableName, spec.boundTo.column ?? column.databaseName),
      maxLength: length,
      index: spec.index && { ...spec.index, column: indexColumnOf(metadata, column, spec.index) },
      scope: spec.scope === undefined ? undefined : scopeColumnOf(metadata, column, spec.scope),
    });
  }
  return Object.freeze(out);
}

/** The plain column named by `@Encrypted({ scope })`: a property of the entity itself, not encrypted. */
function scopeColumnOf(metadata: EntityMetadata, column: ColumnMetadata, property: string): ColumnMetadata {
  const found = metadata.columns.find((c) => c.propertyPath === property);
  const where = { entity: metadata.name, column: column.propertyPath };
  if (!found) throw new SealedError('SEALED_CONFIG', `the scope property ${property} is not a column of the entity`, where);
  if (sealedPropertySpec(found.target, found.propertyName))
    throw new SealedError('SEALED_CONFIG', `the scope property ${property} is encrypted: a scope must be readable to choose a key`, where);
  return found;
}

/** The column `@Encrypted({ index })` declared beside `column` (same class, same embedded object). */
function indexColumnOf(metadata: EntityMetadata, column: ColumnMetadata, index: BlindIndexSpec): ColumnMetadata {
  const found = metadata.columns.find((c) => c.target === column.target && c.embeddedMetadata === column.embeddedMetadata && c.propertyName === index.property);
  if (!found)
    throw new SealedError('SEALED_CONFIG', `the blind index column ${index.property} is missing from the entity metadata`, {
      entity: metadata.name,
      column: column.propertyPath,
    });
  return found;
}

/**
 * What a MySQL/MariaDB text type holds (a `text` column silently truncates longer values when
 * `sql_mode` is not strict); `tinytext` everywhere, since only MySQL has it. Other databases' text
 * is unbounded.
 */
function textTypeLimit(metadata: EntityMetadata, column: ColumnMetadata): number | undefined {
  const type = String(column.type);
  if (type === 'tinytext') return MYSQL_TEXT_BYTES.tinytext;
  const driver = (dataSourceOf(metadata) as DataSource | undefined)?.driver.options.type;
  return driver === 'mysql' || driver === 'mariadb' ? MYSQL_TEXT_BYTES[type] : undefined;
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
  const values: unknown[] = [];
  for (const column of metadata.primaryColumns) {
    const value = column.getEntityValue(entity);
    if (value === undefined) return undefined;
    values.push(value);
  }
  return values.length ? describeKey(metadata, values) : undefined;
}

/**
 * `id=42` or `a=1, b=2` for primary key values in column order, control characters escaped; a
 * Date as ISO 8601 with milliseconds (`at=2024-05-01T10:00:00.123Z`), so that keys a second apart
 * stay apart.
 */
export function describeKey(metadata: EntityMetadata, values: readonly unknown[]): string {
  return printable(metadata.primaryColumns.map((c, i) => `${c.propertyPath}=${keyText(values[i])}`).join(', '));
}

function keyText(value: unknown): string {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : String(value);
}
