import type { DataSource, EntityMetadata } from 'typeorm';
import { cipherSubscribersOf, FIELD_CIPHER } from '../cipher/registry';
import { SealedError } from '../errors';
import { isFailClosed } from '../metadata/fail-closed-transformer';
import { sealedColumnsOf } from '../metadata/column-plan';
import { trackOtherHandlers } from './pending-handlers';
import { keyIdCheckMissed } from './stored-key-check';

/**
 * DataSources already checked, by their `subscribers` array: `true`, or the registration mistake
 * found. TypeORM builds a new array (and new subscribers, listeners and metadata) at every
 * `initialize()`, so a DataSource destroyed and initialized again is checked again.
 */
const checked = new WeakMap<object, true | SealedError>();

/**
 * Runs once per initialized DataSource, at the first event that reaches a sealed subscriber (TypeORM gives
 * subscribers no hook at initialize; with `synchronize` or `migrationsRun` that first event comes
 * during `initialize()`, otherwise with the first query). Refuses registration mistakes with
 * `SEALED_CONFIG`, on every later event too, and then removes the fail-closed transformer from
 * this DataSource's encrypted columns, since this DataSource seals and opens them.
 */
export function checkDataSource(dataSource: DataSource): void {
  const key: object = dataSource.subscribers;
  const state = checked.get(key);
  if (state === true) return;
  if (state) throw state;
  const mistake = registrationMistake(dataSource);
  if (mistake) {
    checked.set(key, mistake);
    throw mistake;
  }
  trackOtherHandlers(dataSource);
  for (const metadata of dataSource.entityMetadatas) {
    for (const sc of sealedColumnsOf(metadata)) {
      // TypeORM reads `transformer` at every use; without one, values pass as they are.
      if (isFailClosed(sc.column.transformer)) delete (sc.column as { transformer?: unknown }).transformer;
    }
  }
  checked.set(key, true);
}

function registrationMistake(dataSource: DataSource): SealedError | undefined {
  const count = cipherSubscribersOf(dataSource).length;
  if (count > 1) {
    return new SealedError(
      'SEALED_CONFIG',
      `${count} sealed subscribers are registered on this DataSource (sealedSubscriber(...) listed twice, or called twice): ` +
        'register exactly one, and put every key in its KeyRing (the active key and decryptOnly keys)',
    );
  }
  const cipher = cipherSubscribersOf(dataSource)[0]?.[FIELD_CIPHER];
  const missed = cipher && keyIdCheckMissed(dataSource, cipher);
  if (missed) return missed;
  for (const metadata of dataSource.entityMetadatas) {
    const sealed = sealedColumnsOf(metadata);
    const referencing = metadata.columns.find(
      (column) => column.referencedColumn && sealedColumnsOf(column.referencedColumn.entityMetadata).some((sc) => sc.column === column.referencedColumn),
    );
    if (referencing) {
      const target = referencing.referencedColumn!;
      const relation = referencing.relationMetadata?.propertyPath ?? referencing.propertyPath;
      return new SealedError(
        'SEALED_CONFIG',
        `the relation column ${relation} references the encrypted column ${target.entityMetadata.name}.${target.propertyPath}: ` +
          'the foreign key would hold its plaintext. Reference the primary key (or another plain column) instead',
        { entity: metadata.name, column: relation },
      );
    }
    const unguarded = sealed.find((sc) => !isFailClosed(sc.column.transformer));
    if (unguarded) {
      return new SealedError(
        'SEALED_CONFIG',
        'the column is encrypted by its class (@Encrypted) but declared again without it (a plain EntitySchema with this class as target), ' +
          'so a DataSource without a sealed subscriber would store it unencrypted: declare it with encryptedColumn(...) in sealedEntitySchema(...)',
        { entity: metadata.name, column: unguarded.path },
      );
    }
    const unwired = metadata.columns.find((column) => isFailClosed(column.transformer) && !sealed.some((sc) => sc.column === column));
    if (unwired) {
      return new SealedError(
        'SEALED_CONFIG',
        'the column was declared with encryptedColumn(...) in an EntitySchema that was not made with sealedEntitySchema(...), so it is not encrypted: ' +
          'make the schema with sealedEntitySchema({ ... }) instead of new EntitySchema({ ... })',
        { entity: metadata.name, column: unwired.propertyPath },
      );
    }
    const indexed = sealed.find((sc) => sc.index);
    if (cipher && !cipher.indexKeys && indexed) {
      return new SealedError(
        'SEALED_CONFIG',
        'the field has a blind index but the sealedSubscriber has no indexKeys: pass a KeyRing of its own, e.g. sealedSubscriber({ keys, indexKeys: KeyRing.fromEnv("TYPEORM_SEALED_INDEX_KEYS") })',
        { entity: metadata.name, column: indexed.path },
      );
    }
    const scoped = sealed.find((sc) => sc.scope);
    if (cipher && !cipher.keys.activeKeyIdOf && scoped) {
      return new SealedError(
        'SEALED_CONFIG',
        'the field has a key scope but the sealedSubscriber has a KeyRing, which has no scopes: give it a KeyVault (README, "Per-tenant keys")',
        { entity: metadata.name, column: scoped.path },
      );
    }
    const unique = uniqueOnSealedColumn(metadata);
    if (unique) {
      return new SealedError(
        'SEALED_CONFIG',
        `the ${unique} includes an encrypted column; values are sealed with random nonces, so it would never refuse a duplicate. Remove it`,
        { entity: metadata.name, column: sealed.find((sc) => unique.includes(`"${sc.column.databaseName}"`))?.path ?? '' },
      );
    }
  }
  return undefined;
}

/** A unique index or constraint (`@Index({ unique: true })`, `@Unique`) over an encrypted column, described. */
function uniqueOnSealedColumn(metadata: EntityMetadata): string | undefined {
  const sealed = new Set(sealedColumnsOf(metadata).map((sc) => sc.column));
  if (sealed.size === 0) return undefined;
  const describe = (kind: string, columns: readonly { databaseName: string }[]) => `${kind} on (${columns.map((c) => `"${c.databaseName}"`).join(', ')})`;
  for (const index of metadata.indices) {
    if (index.isUnique && index.columns.some((c) => sealed.has(c))) return describe('unique index', index.columns);
  }
  for (const unique of metadata.uniques) {
    if (unique.columns.some((c) => sealed.has(c))) return describe('unique constraint', unique.columns);
  }
  return undefined;
}
