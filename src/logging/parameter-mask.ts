import type { ObjectLiteral } from 'typeorm';
import type { SqlLexicon } from '../compat/dialect';
import { looksLikeIndexValue } from '../envelope/blind-index';
import { looksSealed } from '../envelope/format';
import { bindingsOf, type StatementBindings } from './parameter-bindings';
import type { SensitiveColumns } from './sensitive-columns';
import { tokenize } from './sql-tokens';

/** What a masked parameter becomes in the log. */
export const MASK = '[redacted]';

/** A statement's parameters as the log may show them. */
export interface MaskedParameters {
  /** The parameters, each masked one replaced by {@link MASK}: a new array (or object), or `undefined` as given. */
  readonly parameters: unknown[] | ObjectLiteral | undefined;
  /** The values that were masked, to take out of the driver's error message too. */
  readonly masked: readonly unknown[];
}

/** How to read a DataSource's statements: its SQL lexicon and its sensitive columns. */
export interface StatementReader {
  readonly lexicon: SqlLexicon;
  readonly columns: SensitiveColumns;
}

/** Readings of statements seen lately, per lexicon: TypeORM sends the same SQL again and again. */
const readings = new Map<SqlLexicon, Map<string, StatementBindings>>();
const READINGS_KEPT = 500;
/** Longer statements (bulk inserts, whose text changes with the row count) are read every time, not kept: 500 of them could fill the heap. */
const LONGEST_KEPT = 8192;

/**
 * Masks the parameters of a statement that a log must not show. A parameter is masked when it is
 * an envelope or has the form of a blind index value; when the statement binds it to an
 * encrypted or blind index column ({@link bindingsOf}); or when the statement mentions such a
 * column or its table and the parameter stands somewhere the reading cannot place (so every
 * parameter of such a statement when they are named, or when the placeholders found do not match
 * the parameters one to one). Everything is masked when
 * `maskAll` is set, or without a `reader` (no DataSource, or a driver this library does not
 * support). `null` and `undefined` are kept: they carry no value.
 *
 * @example
 * ```ts
 * maskParameters('UPDATE "user" SET "email" = $1 WHERE "id" = $2', ['a@example.com', 7], reader, false).parameters; // ['[redacted]', 7]
 * ```
 */
export function maskParameters(
  sql: string,
  parameters: readonly unknown[] | ObjectLiteral | undefined,
  reader: StatementReader | undefined,
  maskAll: boolean,
): MaskedParameters {
  if (parameters === undefined || parameters === null) return { parameters: undefined, masked: [] };
  const entries: [string | number, unknown][] = Array.isArray(parameters) ? parameters.map((value, i) => [i, value]) : Object.entries(parameters);
  const sensitive = maskAll || !reader ? () => true : sensitivity(sql, entries, reader);
  const masked: unknown[] = [];
  const shown = entries.map(([key, value]): [string | number, unknown] => {
    if (value === null || value === undefined || !(sensitive(key) || looksSealedValue(value))) return [key, value];
    masked.push(value);
    return [key, MASK];
  });
  return { parameters: Array.isArray(parameters) ? shown.map(([, value]) => value) : Object.fromEntries(shown), masked };
}

/**
 * Which parameters (by position; by name for named parameters, whose places are not read) the
 * statement makes sensitive. A statement that mentions no sensitive column or table has none: a
 * column traced from its text would be named in it.
 */
function sensitivity(sql: string, entries: readonly [string | number, unknown][], reader: StatementReader): (key: string | number) => boolean {
  if (!reader.columns.mentionedIn(sql)) return () => false;
  if (typeof entries[0]?.[0] !== 'number') return () => true;
  const bindings = readingOf(sql, reader.lexicon);
  const positions = [...bindings.parameters.keys()];
  if (positions.length !== entries.length || !positions.every((p) => p >= 0 && p < entries.length)) return () => true;
  return (key) =>
    bindings.parameters
      .get(key as number)!
      .some((b) => b === 'unknown' || (b !== 'none' && b.columns.some((ref) => reader.columns.includes(ref, bindings.scope))));
}

function readingOf(sql: string, lexicon: SqlLexicon): StatementBindings {
  let cache = readings.get(lexicon);
  if (!cache) readings.set(lexicon, (cache = new Map()));
  let reading = cache.get(sql);
  if (!reading) {
    reading = bindingsOf(tokenize(sql, lexicon));
    if (sql.length > LONGEST_KEPT) return reading;
    if (cache.size >= READINGS_KEPT) cache.clear();
    cache.set(sql, reading);
  }
  return reading;
}

/** An envelope or a blind index value, or an array holding one (PostgreSQL binds arrays whole). */
function looksSealedValue(value: unknown): boolean {
  return Array.isArray(value) ? value.some(looksSealedValue) : looksSealed(value) || looksLikeIndexValue(value);
}
