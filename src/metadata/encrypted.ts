import 'reflect-metadata';
import { Column, Index, type ColumnOptions } from 'typeorm';
import { encodeValue } from '../codec/codec';
import { VALUE_TYPES, valueTypeOfDesignType, type ValueType } from '../codec/value-type';
import { envelopeLength, sealedLength } from '../envelope/format';
import { SealedError } from '../errors';
import { blindIndexLength, resolveBlindIndex, type BlindIndexOptions, type BlindIndexSpec } from './blind-index';
import { registerSealedProperty, type SealedPropertySpec } from './registry';
import { failClosedTransformer } from './fail-closed-transformer';

/** Database column types that can hold an envelope (text, ASCII-safe). */
export type SealedColumnType = 'text' | 'varchar' | 'character varying' | 'nvarchar' | 'tinytext' | 'mediumtext' | 'longtext';

const COLUMN_TYPES: readonly SealedColumnType[] = ['text', 'varchar', 'character varying', 'nvarchar', 'tinytext', 'mediumtext', 'longtext'];
const OPTIONS: readonly (keyof EncryptedOptions)[] = [
  'type',
  'length',
  'name',
  'nullable',
  'select',
  'insert',
  'update',
  'comment',
  'valueType',
  'boundTo',
  'index',
  'scope',
  'bindRow',
];

const FIXED_LENGTH: Partial<Record<SealedColumnType, number>> = { tinytext: 255 };

/** Options of {@link Encrypted}. Column options are passed to TypeORM's `@Column`. */
export interface EncryptedOptions {
  /** Database column type. Default: `'text'`. A varchar needs a `length` of at least {@link sealedLength}. */
  type?: SealedColumnType;
  /** Column length in characters for varchar-like types. Default: the driver's default. */
  length?: number;
  /** Column name in the database. Default: from the naming strategy. */
  name?: string;
  /** Whether the column accepts NULL (NULL is stored as NULL, not encrypted). Default: `false`. */
  nullable?: boolean;
  /** Whether `find` selects the column by default. Default: `true`. */
  select?: boolean;
  /** Whether the column is written on insert. Default: `true`. */
  insert?: boolean;
  /** Whether the column is written on update. Default: `true`. */
  update?: boolean;
  /** Database comment. Default: none. */
  comment?: string;
  /**
   * JavaScript type of the value. Default: inferred from the property's TypeScript type
   * (`string`, `number`, `bigint`, `boolean`, `Date`, `Buffer`/`Uint8Array` -> `bytes`, arrays ->
   * `json`). Required for unions such as `Date | null` (TypeScript records them as `Object`),
   * for object types (give `'json'`), and when the compiler emits no decorator metadata (esbuild, tsx).
   */
  valueType?: ValueType;
  /**
   * Table and column the ciphertext is bound to (part of the associated data). Default: the
   * entity's table name and this column's database name. Set it after renaming a table or column
   * so values written under the old names still open.
   */
  boundTo?: { table?: string; column?: string };
  /**
   * Makes the field searchable by equality (and, with `unique`, unique) through a blind index: a
   * keyed hash of the normalised plaintext, kept by the subscriber in a column of its own (the
   * property `<property>BlindIndex`, not selected by default) with a database index, both part of
   * the entity's metadata so `synchronize` and generated migrations create them. Find rows with
   * `sealedRepository(repository).findOneBy({ field: value })`. `true` takes every default of
   * {@link BlindIndexOptions}. Needs `indexKeys` on the subscriber. Default: no index.
   */
  index?: true | BlindIndexOptions;
  /**
   * The property (a plain column of the same entity, e.g. `'tenantId'`) whose value chooses the
   * key scope of each row: every scope has data keys of its own in the `KeyVault`, created at the
   * scope's first write, and the scope is bound into the associated data, so a value copied into
   * a row of another scope never opens. Shredding a scope's keys erases its values alone. Needs a
   * `KeyVault` as the subscriber's keys; not with `index` (an index is not scoped). A write that
   * sets the field must carry the scope (a loaded entity does). Default: none (the default scope).
   */
  scope?: string;
  /**
   * Binds each value to its row's primary key in the associated data, so a value copied (or two
   * values swapped) between rows of the column fails to open (`SEALED_TAMPERED`). The key must be
   * known before the INSERT: a primary key the application assigns (`@PrimaryColumn`, e.g. a
   * `randomUUID()` set in the constructor or a `@BeforeInsert()`); a database-generated key
   * (`@PrimaryGeneratedColumn`) is refused at startup, since the value is sealed before the INSERT
   * that creates it. Writes must carry the key: `save()` does; `update()` and QueryBuilder updates
   * of the field must set the key too. Default: `false`.
   */
  bindRow?: boolean;
}

/** Column options that would store or compare plaintext, refused with the reason. */
const REFUSED_OPTIONS: Readonly<Record<string, string>> = {
  default: 'a database default is stored unencrypted',
  unique: 'ciphertext uses random nonces, so a unique constraint on it never fires',
  primary: 'a primary key cannot be encrypted',
  transformer: 'the subscriber owns the stored value; a transformer would see ciphertext',
  array: 'arrays are stored as one JSON value: use valueType "json"',
};

/**
 * Why a property's `design:type` names no value type. No metadata at all is the compiler's doing,
 * not the tsconfig's: esbuild and the tools built on it (tsx) compile legacy decorators but
 * never emit `design:type`, even with `emitDecoratorMetadata` on.
 */
function whyNotInferred(designType: unknown): string {
  if (designType === undefined) {
    return (
      'the compiler emitted no design:type metadata for this property (esbuild and tsx never do, even with emitDecoratorMetadata on; ' +
      'tsc does with emitDecoratorMetadata, swc with jsc.transform.decoratorMetadata)'
    );
  }
  if (designType === Object) return 'TypeScript recorded its type as Object, as it does for a union (e.g. Date | null) and for an object type';
  const name = typeof designType === 'function' && /^[A-Za-z_$][\w$]{0,63}$/.test(designType.name) ? designType.name : 'a type';
  return `TypeScript recorded its type as ${name}, from which no value type is inferred`;
}

/**
 * Declares a TypeORM column whose value is stored as an authenticated envelope and read back as
 * the typed plaintext. Register `sealedSubscriber(...)` on the DataSource to make it work.
 *
 * @example
 * ```ts
 * @Entity()
 * class User {
 *   @PrimaryGeneratedColumn() id!: number;
 *   @Encrypted() email!: string;
 *   @Encrypted({ nullable: true, valueType: 'date' }) birthday!: Date | null; // name the type of a union
 *   @Encrypted({ valueType: 'json' }) settings!: { theme: string };
 * }
 * ```
 */
export function Encrypted(options: EncryptedOptions = {}): PropertyDecorator {
  return (target, propertyKey) => {
    const entity = (target as { constructor: { name: string } }).constructor.name;
    const property = String(propertyKey);
    const designType: unknown = Reflect.getMetadata('design:type', target, propertyKey);
    const column = resolveEncrypted(
      '@Encrypted',
      options,
      { entity, column: property },
      () => valueTypeOfDesignType(designType),
      () => whyNotInferred(designType),
    );
    Column({ ...column.options, transformer: failClosedTransformer(entity, property) })(target, propertyKey);
    if (column.index) {
      Column(column.index.options)(target, column.index.spec.property);
      Index({ unique: column.index.spec.unique })(target, column.index.spec.property);
    }
    registerSealedProperty(target.constructor, property, column.spec);
  };
}

/** An encrypted field's declaration, checked: its column's options, its blind index's, and what the subscriber needs. */
export interface ResolvedEncrypted {
  /** TypeORM column options of the field (without the transformer). */
  options: ColumnOptions;
  /** The blind index: its spec and its column's options. */
  index?: { spec: BlindIndexSpec; options: ColumnOptions };
  spec: SealedPropertySpec;
}

/**
 * Checks the options of an encrypted field (`@Encrypted` or `encryptedColumn`) and resolves them;
 * `inferValueType` gives the value type when the options do not (undefined: cannot tell), and
 * `whyNotInferred` says why it could not.
 */
export function resolveEncrypted(
  declaredBy: string,
  options: EncryptedOptions,
  where: { entity: string; column: string },
  inferValueType: () => ValueType | undefined,
  whyNotInferred: () => string,
): ResolvedEncrypted {
  if (typeof options !== 'object' || options === null) throw new SealedError('SEALED_CONFIG', `${declaredBy} takes an options object`, where);
  for (const key of Object.keys(options)) {
    const reason = REFUSED_OPTIONS[key];
    if (reason) throw new SealedError('SEALED_CONFIG', `${declaredBy} does not take option "${key}": ${reason}`, where);
    if (!OPTIONS.includes(key as keyof EncryptedOptions)) {
      throw new SealedError('SEALED_CONFIG', `${declaredBy} has no option "${key}"; it takes ${OPTIONS.join(', ')}`, where);
    }
  }
  const choices = VALUE_TYPES.map((t) => `"${t}"`).join(' | ');
  if (options.valueType !== undefined && !VALUE_TYPES.includes(options.valueType)) {
    throw new SealedError('SEALED_CONFIG', `valueType ${JSON.stringify(options.valueType)} is not one of ${choices}`, where);
  }
  const valueType = options.valueType ?? inferValueType();
  if (valueType === undefined) {
    throw new SealedError('SEALED_CONFIG', `cannot infer the value type: ${whyNotInferred()}; pass valueType: ${choices}`, where);
  }
  const type = options.type ?? 'text';
  if (!COLUMN_TYPES.includes(type)) {
    throw new SealedError('SEALED_CONFIG', `column type ${JSON.stringify(type)} cannot hold an envelope; use one of ${COLUMN_TYPES.join(', ')}`, where);
  }
  checkColumnFits(type, options.length ?? FIXED_LENGTH[type], valueType, where);
  const { valueType: _v, boundTo, type: _t, index: indexOption, scope, bindRow, ...columnOptions } = options;
  if (bindRow !== undefined && typeof bindRow !== 'boolean') throw new SealedError('SEALED_CONFIG', 'bindRow must be true or false', where);
  const index = indexOption === undefined || indexOption === (false as unknown) ? undefined : resolveBlindIndex(indexOption, valueType, where.column, where);
  if (scope !== undefined && (typeof scope !== 'string' || !/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(scope))) {
    throw new SealedError('SEALED_CONFIG', 'scope must name a property of the entity (e.g. "tenantId")', where);
  }
  if (scope !== undefined && index) {
    throw new SealedError(
      'SEALED_CONFIG',
      'a field with a scope cannot have a blind index: index values are not scoped, so they would outlive a shredded scope',
      where,
    );
  }
  return {
    options: { ...columnOptions, type, nullable: options.nullable ?? false },
    // The index column: nullable (rows written before the index existed hold NULL until the
    // rotator's reindex fills them), never selected unless asked, written with the field.
    ...(index && {
      index: {
        spec: index,
        options: {
          type: 'varchar',
          length: blindIndexLength(index.bits),
          nullable: true,
          select: false,
          ...(typeof indexOption === 'object' && indexOption.column !== undefined ? { name: indexOption.column } : {}),
          ...(options.insert !== undefined ? { insert: options.insert } : {}),
          ...(options.update !== undefined ? { update: options.update } : {}),
        },
      },
    }),
    spec: {
      valueType,
      boundTo: boundTo ?? {},
      ...(index ? { index } : {}),
      ...(scope ? { scope } : {}),
      ...(bindRow ? { bindRow } : {}),
    },
  };
}

/** The smallest value of each type, to size the shortest envelope a column must hold. */
const SMALLEST: Record<ValueType, unknown> = {
  string: '',
  number: 0,
  bigint: 0n,
  boolean: false,
  date: new Date(0),
  json: 0,
  bytes: new Uint8Array(0),
};

function checkColumnFits(type: SealedColumnType, length: number | undefined, valueType: ValueType, where: { entity: string; column: string }): void {
  if (length === undefined) return;
  const needed = envelopeLength(encodeValue(SMALLEST[valueType], valueType).length);
  if (length < needed) {
    throw new SealedError(
      'SEALED_CONFIG',
      `column ${type}(${length}) is too short: the smallest sealed ${valueType} takes ${needed} characters ` +
        `and a 64-byte value takes ${sealedLength(64)}; use type "text" or length >= sealedLength(<max value bytes>)`,
      where,
    );
  }
}
