import { EntitySchema, type EntitySchemaColumnOptions, type EntitySchemaOptions } from 'typeorm';
import { SealedError } from '../errors';
import { resolveEncrypted, type EncryptedOptions } from './encrypted';
import { failClosedTransformer } from './fail-closed-transformer';
import { carrySpec } from './registry';

/** What {@link encryptedColumn} returns: a column of an `EntitySchema` that {@link sealedEntitySchema} wires. */
export interface EncryptedColumnOptions extends EntitySchemaColumnOptions {
  readonly [ENCRYPTED_COLUMN]: EncryptedOptions;
}

const ENCRYPTED_COLUMN = Symbol.for('typeorm-sealed.v1.encrypted-column');

/** The objects encryptedColumn returned: a copy (spread, with a property changed) is refused. */
const made = new WeakSet<object>();

const isEncryptedColumn = (column: unknown): column is EncryptedColumnOptions => typeof column === 'object' && column !== null && ENCRYPTED_COLUMN in column;

/**
 * Declares an encrypted column of an `EntitySchema`: the counterpart of `@Encrypted(options)`,
 * with the same options, for entities declared without decorators. The value type is not
 * inferred (a schema has no property types): `valueType` defaults to `'string'`. Give the schema's
 * options to {@link sealedEntitySchema}, which adds the blind index column and registers the field;
 * a schema built with `new EntitySchema` directly stores nothing through such a column (every
 * non-null value is refused) and a DataSource with a sealed subscriber refuses it at its first event.
 *
 * @example
 * ```ts
 * export const UserSchema = sealedEntitySchema<User>({
 *   name: 'User',
 *   tableName: 'users',
 *   columns: {
 *     id: { type: Number, primary: true, generated: true },
 *     email: encryptedColumn({ index: { unique: true } }),
 *     birthday: encryptedColumn({ valueType: 'date', nullable: true }),
 *   },
 * });
 * ```
 */
export function encryptedColumn(options: EncryptedOptions = {}): EncryptedColumnOptions {
  const column: EncryptedColumnOptions = Object.freeze({
    type: options.type ?? 'text',
    nullable: options.nullable ?? false,
    transformer: failClosedTransformer('', '', true),
    [ENCRYPTED_COLUMN]: options,
  });
  made.add(column);
  return column;
}

/**
 * Makes an `EntitySchema` whose {@link encryptedColumn} columns are encrypted fields, as
 * `@Encrypted` makes them on a class: each column's options are checked (`SEALED_CONFIG` naming the
 * schema and column), a field with `index` gains its blind index column (`<field>BlindIndex`) and
 * database index, and the sealed subscriber seals and opens it. Encrypted columns go in `columns`
 * (not in `embeddeds`). Register `sealedSubscriber(...)` on the DataSource, as for decorated entities.
 *
 * @example
 * ```ts
 * interface User { id: number; email: string }
 * export const UserSchema = sealedEntitySchema<User>({
 *   name: 'User',
 *   columns: { id: { type: Number, primary: true, generated: true }, email: encryptedColumn({ index: true }) },
 * });
 * new DataSource({ type: 'postgres', entities: [UserSchema], subscribers: [sealedSubscriber({ keys, indexKeys })] });
 * ```
 */
export function sealedEntitySchema<T>(options: EntitySchemaOptions<T>): EntitySchema<T> {
  const entity = typeof options?.name === 'string' ? options.name : '(unnamed schema)';
  const columns: Record<string, EntitySchemaColumnOptions> = { ...(options.columns as Record<string, EntitySchemaColumnOptions>) };
  const indices = [...(options.indices ?? [])];
  for (const [property, column] of Object.entries(columns)) {
    if (!isEncryptedColumn(column)) continue;
    const where = { entity, column: property };
    if (!made.has(column)) {
      throw new SealedError('SEALED_CONFIG', 'encryptedColumn(...) takes its options as its argument: use the object it returns as it is, not a copy', where);
    }
    const resolved = resolveEncrypted(
      'encryptedColumn',
      column[ENCRYPTED_COLUMN],
      where,
      () => 'string',
      () => 'a schema has no property types',
    );
    columns[property] = { ...resolved.options, transformer: carrySpec(failClosedTransformer(entity, property), resolved.spec) } as EntitySchemaColumnOptions;
    if (resolved.index) {
      const indexProperty = resolved.index.spec.property;
      if (indexProperty in columns)
        throw new SealedError('SEALED_CONFIG', `the blind index property ${indexProperty} is already a column of the schema`, where);
      columns[indexProperty] = resolved.index.options as EntitySchemaColumnOptions;
      indices.push({ columns: [indexProperty], unique: resolved.index.spec.unique });
    }
  }
  return new EntitySchema<T>({ ...options, columns: columns as EntitySchemaOptions<T>['columns'], indices });
}
