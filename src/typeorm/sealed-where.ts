import { In, type DataSource, type EntityMetadata, type EntityTarget, type FindOptionsWhere, type ObjectLiteral } from 'typeorm';
import type { EmbeddedMetadata } from 'typeorm/metadata/EmbeddedMetadata.js';
import type { FieldCipher } from '../cipher/field-cipher';
import { fieldCipherOf } from '../cipher/registry';
import { SealedError } from '../errors';
import { sealedColumnsOf, type SealedColumn } from '../metadata/column-plan';

/** One equality on an indexed encrypted field: the row's plaintext must equal one of `values` once normalised. */
export interface SealedCheck {
  readonly sc: SealedColumn;
  readonly values: readonly unknown[];
}

/** A `where` branch with its indexed fields turned into index conditions, and the checks of its candidates. */
export interface TranslatedBranch {
  readonly where: ObjectLiteral;
  readonly checks: readonly SealedCheck[];
}

/** How TypeORM brands its find operators (`Equal` has a brand of its own). */
const FIND_OPERATORS = [Symbol.for('FindOperator'), Symbol.for('EqualOperator')];

/** A TypeORM FindOperator (`In`, `IsNull`, ...), recognised across copies of TypeORM. */
function isFindOperator(value: unknown): value is { type: string; value: unknown; child?: unknown } {
  return typeof value === 'object' && value !== null && FIND_OPERATORS.includes((value as { '@instanceof'?: symbol })['@instanceof']!);
}

/** `null`, `IsNull()` or `Not(IsNull())`: a condition that compares no value (SQL `IS [NOT] NULL`). */
function isNullCheck(value: unknown): boolean {
  if (value === null || !isFindOperator(value)) return value === null;
  return value.type === 'isNull' || (value.type === 'not' && isFindOperator(value.child) && value.child.type === 'isNull');
}

/**
 * Turns each branch of a find `where` (an object, or an array of them: OR) into one the database
 * can answer: an indexed encrypted field compared with a plaintext value (a value, `Equal(v)` or
 * `In([...])`) becomes a condition on its blind index column, under every index key, and its
 * re-check is recorded; `null` and `IsNull()` stay as they are. Other conditions on an encrypted
 * field are refused with `SEALED_UNSUPPORTED_QUERY`. The plaintext never reaches the SQL.
 */
export function translateWhere(cipher: FieldCipher, metadata: EntityMetadata, where: unknown): TranslatedBranch[] {
  const branches = Array.isArray(where) ? where : where === undefined || where === null ? [] : [where];
  return branches.map((branch) => {
    const checks: SealedCheck[] = [];
    const translated = translateLevel(cipher, metadata, undefined, branch as ObjectLiteral, checks);
    return { where: translated, checks };
  });
}

function translateLevel(
  cipher: FieldCipher,
  metadata: EntityMetadata,
  embedded: EmbeddedMetadata | undefined,
  level: ObjectLiteral,
  checks: SealedCheck[],
): ObjectLiteral {
  if (typeof level !== 'object' || level === null || isFindOperator(level)) return level;
  const out: ObjectLiteral = {};
  for (const [key, value] of Object.entries(level)) {
    const { sc, inner, relation } = fieldAt(metadata, embedded, key);
    if (inner && typeof value === 'object' && value !== null && !isFindOperator(value)) {
      out[key] = translateLevel(cipher, metadata, inner, value as ObjectLiteral, checks);
    } else if (relation && comparesEncrypted(relation.inverseEntityMetadata, value)) {
      throw new SealedError(
        'SEALED_UNSUPPORTED_QUERY',
        `searching an encrypted field of the related ${relation.inverseEntityMetadata.name} is not supported: find it with sealedRepository on its own repository, then search this one by its key`,
        { entity: metadata.name, column: key },
      );
    } else if (!sc || value === undefined || isNullCheck(value)) {
      out[key] = value;
    } else {
      const values = equalityValues(sc, value);
      if (!sc.index) {
        throw new SealedError(
          'SEALED_UNSUPPORTED_QUERY',
          "the encrypted field has no blind index, so it cannot be searched: declare one with @Encrypted({ index: true }) and fill it with the rotator's reindex",
          { entity: sc.entity, column: sc.path },
        );
      }
      const indexValues = [...new Set(values.flatMap((v) => cipher.indexValues(sc, v)))];
      out[sc.index.property] = indexValues.length === 1 ? indexValues[0] : In(indexValues);
      checks.push({ sc, values });
    }
  }
  return out;
}

/**
 * Whether a where compares an encrypted field with a value, at any depth (embedded objects,
 * relations): TypeORM would send that value to SQL as a parameter. `IsNull()` does not count.
 */
export function comparesEncrypted(metadata: EntityMetadata, where: unknown): boolean {
  return searchesSealed(metadata, undefined, where, new Set());
}

function searchesSealed(metadata: EntityMetadata, embedded: EmbeddedMetadata | undefined, where: unknown, seen: Set<object>): boolean {
  if (typeof where !== 'object' || where === null || isFindOperator(where) || seen.has(where)) return false;
  seen.add(where);
  return Object.entries(where).some(([key, value]) => {
    if (value === undefined || isNullCheck(value)) return false;
    const { sc, inner, relation } = fieldAt(metadata, embedded, key);
    if (sc) return true;
    if (inner) return searchesSealed(metadata, inner, value, seen);
    return relation !== undefined && searchesSealed(relation.inverseEntityMetadata, undefined, value, seen);
  });
}

/** What a key of a `where` names at one level of an entity (the entity, or one of its embedded objects). */
function fieldAt(metadata: EntityMetadata, embedded: EmbeddedMetadata | undefined, key: string) {
  return {
    /** An encrypted field. */
    sc: sealedColumnsOf(metadata).find((c) => c.column.embeddedMetadata === embedded && c.column.propertyName === key),
    /** An embedded object. */
    inner: (embedded?.embeddeds ?? metadata.embeddeds).find((e) => e.propertyName === key),
    /** A relation. */
    relation: metadata.relations.find((r) => r.propertyName === key && r.embeddedMetadata === embedded),
  };
}

/** The plaintext values an equality condition on an encrypted field names. */
function equalityValues(sc: SealedColumn, value: unknown): unknown[] {
  if (!isFindOperator(value)) return [value];
  if (value.type === 'equal') return [value.value];
  if (value.type === 'in' && Array.isArray(value.value)) return value.value as unknown[];
  throw new SealedError(
    'SEALED_UNSUPPORTED_QUERY',
    `an encrypted field is searched by equality only (a value, Equal(...), In([...])) or IsNull(), not by ${value.type}`,
    { entity: sc.entity, column: sc.path },
  );
}

/** Whether a loaded row passes every re-check of a branch: its plaintext equals a searched value once normalised. */
export function passesChecks(cipher: FieldCipher, row: ObjectLiteral, checks: readonly SealedCheck[]): boolean {
  return checks.every(({ sc, values }) => {
    const stored = sc.column.getEntityValue(row);
    return stored !== undefined && stored !== null && values.some((v) => cipher.sameIndexedValue(sc, stored, v));
  });
}

/**
 * Find-options `where` for a search by indexed encrypted fields, for the places that take one
 * (`find*` options, `QueryBuilder.where()`): each indexed field compared with a plaintext value
 * (a value, `Equal(v)`, `In([...])`) becomes a condition on its blind index column (under every
 * index key, so rows not re-indexed yet are found too); other conditions pass as they are. The
 * plaintext never reaches the SQL or its parameters. The rows it selects are candidates: with a
 * truncated index (`bits < 128`) some hold other values, and anyone who can write the database can
 * copy an index value into another row, so keep only the rows {@link sealedMatches} accepts, or
 * use {@link sealedRepository}, which does.
 *
 * @example
 * ```ts
 * const where = sealedWhere(dataSource, User, { email: 'alice@example.com', active: true });
 * const rows = await dataSource.getRepository(User).createQueryBuilder('u').where(where).getMany();
 * const users = rows.filter(sealedMatches(dataSource, User, { email: 'alice@example.com' }));
 * ```
 */
export function sealedWhere<T extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<T>,
  where: FindOptionsWhere<T> | FindOptionsWhere<T>[],
): FindOptionsWhere<T> | FindOptionsWhere<T>[] {
  const branches = translateWhere(fieldCipherOf(dataSource), dataSource.getMetadata(entity), where);
  const wheres = branches.map((b) => b.where as FindOptionsWhere<T>);
  return Array.isArray(where) ? wheres : wheres[0]!;
}

/**
 * The re-check of a search by indexed encrypted fields, as a filter for loaded rows: true when a
 * row's decrypted fields equal the searched values once normalised (for an array `where`, those of
 * one branch). Conditions on other fields are not checked: the query did that.
 *
 * @example
 * ```ts
 * const users = candidates.filter(sealedMatches(dataSource, User, { email: 'alice@example.com' }));
 * ```
 */
export function sealedMatches<T extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<T>,
  where: FindOptionsWhere<T> | FindOptionsWhere<T>[],
): (row: T) => boolean {
  const cipher = fieldCipherOf(dataSource);
  const branches = translateWhere(cipher, dataSource.getMetadata(entity), where);
  return (row) => branches.some((b) => passesChecks(cipher, row, b.checks));
}
