import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { isWellFormed } from './codec';

/** Column types whose values the databases return as integers, whatever text was written. */
const INTEGER_TYPES = new Set(['int', 'integer', 'bigint', 'smallint', 'tinyint', 'mediumint', 'int2', 'int4', 'int8', 'number']);
const DECIMAL = /^-?(0|[1-9][0-9]*)$/;
const safe = (n: bigint) => n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER);

/** A column's type as a lower-case name (`Number` declared through the design type becomes `number`). */
export function typeName(column: Pick<ColumnMetadata, 'type'>): string {
  return (typeof column.type === 'function' ? column.type.name : String(column.type)).toLowerCase();
}

/** Column types that pad or trim what is written (`char(n)`): a value read back differs from the value written. */
export function padsValues(column: Pick<ColumnMetadata, 'type'>): boolean {
  return ['char', 'character', 'nchar', 'national char'].includes(typeName(column));
}

/** Text types whose values read back as written (besides `char(n)`, refused by {@link padsValues}). */
const TEXT_TYPES = new Set([
  'varchar',
  'character varying',
  'nvarchar',
  'national varchar',
  'text',
  'tinytext',
  'mediumtext',
  'longtext',
  'string',
  'uuid',
  'citext',
]);

/**
 * Whether a column's values read back exactly as the application wrote them, on every driver:
 * text types and integer types. Not dates and times (MySQL's `datetime` drops milliseconds, SQLite
 * returns stored text, drivers differ in time zones), floats, decimals or bytes.
 */
export function readsBackExactly(column: Pick<ColumnMetadata, 'type'>): boolean {
  const type = typeName(column);
  return INTEGER_TYPES.has(type) || TEXT_TYPES.has(type);
}

/**
 * A scope's or primary key's value as the text a binding holds, the same for the value the
 * application writes and the value the database reads back: integers in decimal (a string only in
 * canonical decimal: `'007'` reads back as 7), a uuid in lower case, a string as it is (well-formed
 * UTF-16), a Date in ISO 8601, bytes in hex. Undefined for a value that would not read back the
 * same, or of another type.
 */
export function keyText(value: unknown, column: Pick<ColumnMetadata, 'type'>): string | undefined {
  const type = typeName(column);
  if (INTEGER_TYPES.has(type)) {
    // within ±(2^53 - 1): beyond, a driver that reads integers as numbers (better-sqlite3) rounds them
    if (typeof value === 'bigint') return safe(value) ? String(value) : undefined;
    if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value === 0 ? 0 : value) : undefined;
    return typeof value === 'string' && DECIMAL.test(value) && value !== '-0' && safe(BigInt(value)) ? value : undefined;
  }
  if (typeof value === 'string') {
    if (!isWellFormed(value)) return undefined;
    return type === 'uuid' ? value.toLowerCase() : value;
  }
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isFinite(value))) return String(value === 0 ? 0 : value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return undefined;
}
