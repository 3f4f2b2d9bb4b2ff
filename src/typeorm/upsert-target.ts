import { InsertQueryBuilder, type EntityMetadata } from 'typeorm';
import { SealedError } from '../errors';
import { sealedColumnsOf } from '../metadata/column-plan';

/** Marks TypeORM's InsertQueryBuilder once patched, across copies of this package. */
const PATCHED = Symbol.for('typeorm-sealed.v1.upsert-targets');

interface OnUpdate {
  overwrite?: string[];
  columns?: string[];
  conflict?: string | string[];
}

/**
 * Makes `upsert` and `orUpdate` keep blind indexes right (installed once by `sealedSubscriber()`):
 * an encrypted field named as the conflict target becomes its unique blind index column (the only
 * column that can detect the duplicate), and every overwritten indexed field brings its index
 * column along (`upsert` picks the columns to overwrite before the subscriber computes the index,
 * so it would otherwise leave the old index value behind). A conflict target on an encrypted field
 * without a unique index is refused with `SEALED_UNSUPPORTED_QUERY`.
 */
export function translateUpsertTargets(): void {
  const prototype = InsertQueryBuilder.prototype as unknown as Record<string | symbol, unknown>;
  if (prototype[PATCHED]) return;
  const orUpdate = prototype.orUpdate as (this: InsertQueryBuilder<object>, ...args: unknown[]) => InsertQueryBuilder<object>;
  prototype.orUpdate = function (this: InsertQueryBuilder<object>, ...args: unknown[]) {
    const result = orUpdate.apply(this, args);
    const alias = this.expressionMap.mainAlias;
    const onUpdate = this.expressionMap.onUpdate as OnUpdate | undefined;
    if (onUpdate && alias?.hasMetadata) withIndexColumns(alias.metadata, onUpdate);
    return result;
  };
  prototype[PATCHED] = true;
}

function withIndexColumns(metadata: EntityMetadata, onUpdate: OnUpdate): void {
  for (const sc of sealedColumnsOf(metadata)) {
    const name = sc.column.databaseName;
    if (Array.isArray(onUpdate.conflict) && onUpdate.conflict.includes(name)) {
      if (!sc.index?.unique) {
        throw new SealedError(
          'SEALED_UNSUPPORTED_QUERY',
          'an encrypted field can be a conflict target only through a unique blind index: declare @Encrypted({ index: { unique: true } })',
          { entity: sc.entity, column: sc.path },
        );
      }
      onUpdate.conflict = onUpdate.conflict.map((c) => (c === name ? sc.index!.column.databaseName : c));
    }
    const overwritten = (['overwrite', 'columns'] as const).some((key) => onUpdate[key]?.includes(name));
    if (overwritten && sc.scope && !(['overwrite', 'columns'] as const).some((key) => onUpdate[key]?.includes(sc.scope!.databaseName))) {
      // the value is sealed for the new row's scope; a row keeping another scope could never open it
      throw new SealedError(
        'SEALED_UNSUPPORTED_QUERY',
        `an upsert that overwrites a scoped field must overwrite its scope column (${sc.scope.propertyPath}) too, or the existing row would keep a value it cannot open`,
        { entity: sc.entity, column: sc.path },
      );
    }
    const primary = metadata.primaryColumns.map((c) => c.databaseName);
    const onKey = Array.isArray(onUpdate.conflict) && onUpdate.conflict.length === primary.length && primary.every((c) => onUpdate.conflict!.includes(c));
    if (overwritten && sc.rowKey && !onKey) {
      // the value is bound to the new row's key; an existing row found by another column has its own
      throw new SealedError(
        'SEALED_UNSUPPORTED_QUERY',
        "an upsert that overwrites a row-bound field must conflict on the primary key, or the existing row would keep a value bound to another row's key",
        { entity: sc.entity, column: sc.path },
      );
    }
    if (!sc.index) continue;
    const indexName = sc.index.column.databaseName;
    for (const key of ['overwrite', 'columns'] as const) {
      const list = onUpdate[key];
      // a new array: the caller's stays as it was
      if (Array.isArray(list) && list.includes(name) && !list.includes(indexName)) onUpdate[key] = [...list, indexName];
    }
  }
}
