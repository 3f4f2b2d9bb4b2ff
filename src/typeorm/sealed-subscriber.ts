import { inspect } from 'node:util';
import {
  getMetadataArgsStorage,
  type DataSource,
  type EntitySubscriberInterface,
  type InsertEvent,
  type LoadEvent,
  type ObjectLiteral,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
  type UpdateEvent,
} from 'typeorm';
import { FieldCipher } from '../cipher/field-cipher';
import { FIELD_CIPHER, noteConfigured } from '../cipher/registry';
import { dataSourceOf, type SealedAfterQueryEvent, type SealedQueryEvent } from '../compat/typeorm';
import { SealedError } from '../errors';
import { requireKeyRing, separateIndexKeys, type KeyRing } from '../keys/key-ring';
import { isKeyVault, requireKeys, type KeyVault } from '../vault/key-vault';
import { checkDataSource } from './data-source-check';
import { trackEntityListeners } from './pending-handlers';
import { EntitySealer } from './entity-sealer';
import { checkKeyIdsAtInitialize, type KeyIdCheckOptions } from './stored-key-check';
import { translateUpsertTargets } from './upsert-target';
import { WhereGuard } from './where-guard';

/** Options of {@link sealedSubscriber}. */
export interface SealedSubscriberOptions {
  /**
   * The keys: a KeyRing (its active key seals, every key opens), or a KeyVault (data keys kept
   * wrapped in the database; load it after `initialize()`). Required.
   */
  keys: KeyRing | KeyVault;
  /**
   * Read values that are not envelopes (data written before the column was encrypted) as
   * plaintext instead of failing with `SEALED_PLAINTEXT`; they are sealed when `save()` writes
   * their loaded entity again, or all at once by the rotator's `encryptExisting`. Turn it on only
   * while migrating. Default: `false`.
   */
  plaintextPassthrough?: boolean;
  /**
   * Refuse queries that compare an encrypted column (`=`, `LIKE`, `IN`, ...), which could never
   * match, with `SEALED_UNSUPPORTED_QUERY` instead of returning nothing. `IS NULL` stays allowed.
   * Default: `true`.
   */
  guardQueries?: boolean;
  /**
   * The keys of blind indexes (`@Encrypted({ index })`), a ring of their own: its active key
   * computes index values, and lookups also match values under its decrypt-only keys while the
   * rotator's `reindex` moves them to the active one. Kept apart from `keys` so rotating the
   * encryption key never changes an index value. Required when an entity declares an index.
   * Default: none.
   */
  indexKeys?: KeyRing;
  /**
   * Read a field whose data key was shredded (`KeyVault.shred`, `shredScope`) as `null` instead of
   * failing the whole load with `SEALED_SHREDDED`: lists that span scopes keep working after one
   * scope is erased. Saving such an entity leaves the stored value as it is unless the field is
   * set. Default: `false`.
   */
  shreddedAsNull?: boolean;
  /**
   * Fail `initialize()` with `SEALED_WRONG_KEY` when a sample of an encrypted column holds values
   * under key ids that `keys` (or an index under ids that `indexKeys`) lack: a wrong or incomplete
   * key ring is found at startup, naming each column and missing id, not at the first unlucky
   * read. Runs after `migrationsRun` and `synchronize`, reading `sampleRows` rows from each end of
   * each table's primary key (see {@link checkStoredKeyIds}). A key ring only: with a KeyVault, call
   * `checkStoredKeyIds(dataSource)` after `vault.load()`. Default: `false`.
   */
  checkKeyIds?: boolean | KeyIdCheckOptions;
}

/**
 * Base class of every subscriber class made by {@link sealedSubscriber}. Other code recognises
 * these subscribers by a `Symbol.for` brand, not by this class, so two copies of the package
 * work together.
 *
 * @example
 * ```ts
 * const subscriber = dataSource.subscribers.find((s) => s instanceof SealedSubscriberBase);
 * JSON.stringify(subscriber); // {"subscriber":"sealedSubscriber","activeKeyId":"9f3a0c1d","keyIds":["9f3a0c1d"]}
 * ```
 */
export abstract class SealedSubscriberBase implements EntitySubscriberInterface<ObjectLiteral> {
  /** The sealer this subscriber applies. */
  protected abstract readonly sealer: EntitySealer;
  /** Whether {@link WhereGuard} checks every query. */
  protected abstract readonly guardQueries: boolean;
  private readonly guards = new WeakMap<DataSource, WhereGuard>();

  /** The brand other code (and other copies of this package) find this subscriber and its cipher by. */
  get [FIELD_CIPHER](): FieldCipher {
    return this.sealer.cipher;
  }

  beforeQuery(event: SealedQueryEvent): void {
    const dataSource = dataSourceOf(event);
    checkDataSource(dataSource);
    if (!this.guardQueries) return;
    let guard = this.guards.get(dataSource);
    if (!guard) this.guards.set(dataSource, (guard = new WhereGuard(dataSource.entityMetadatas)));
    guard.check(event.query);
  }

  afterQuery(event: SealedAfterQueryEvent): void {
    this.sealer.afterQuery(event.queryRunner, event.parameters, event.success);
  }

  beforeInsert(event: InsertEvent<ObjectLiteral>): Promise<void> | void {
    checkDataSource(dataSourceOf(event));
    if (event.entity) return this.sealer.queueForWrite(event.metadata, event.entity, event.queryRunner, false);
  }

  afterInsert(event: InsertEvent<ObjectLiteral>): void {
    this.sealer.restore(event.entity);
  }

  beforeUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> | void {
    checkDataSource(dataSourceOf(event));
    if (event.entity) return this.sealer.queueForWrite(event.metadata, event.entity, event.queryRunner, true, event.databaseEntity);
  }

  afterUpdate(event: UpdateEvent<ObjectLiteral>): void {
    this.sealer.restore(event.entity);
  }

  afterLoad(entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>): Promise<void> | void {
    if (!event?.metadata) {
      // Without the event there is no way to know the entity's columns: refuse rather than hand out ciphertext.
      throw new SealedError('SEALED_CONFIG', 'TypeORM called afterLoad without its event, so loaded values cannot be opened: use TypeORM 0.3.20 or later');
    }
    checkDataSource(dataSourceOf(event));
    return this.sealer.openLoaded(event.metadata, entity, event.queryRunner);
  }

  afterTransactionCommit(event: TransactionCommitEvent): Promise<void> | void {
    return this.sealer.cipher.keys.afterTransaction?.(true, event.queryRunner);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): Promise<void> | void {
    this.sealer.afterRollback(event.queryRunner);
    return this.sealer.cipher.keys.afterTransaction?.(false, event.queryRunner);
  }

  /** `{ subscriber: 'sealedSubscriber', activeKeyId, keyIds }` (no `activeKeyId` while a key vault is not loaded): never key material. */
  toJSON(): { subscriber: string; activeKeyId?: string; keyIds: readonly string[] } {
    const keys = this.sealer.cipher.keys;
    return { subscriber: 'sealedSubscriber', ...(keys.keyIds.length > 0 ? { activeKeyId: keys.activeKeyId } : {}), keyIds: keys.keyIds };
  }

  [inspect.custom](): string {
    const keys = this.sealer.cipher.keys;
    return `SealedSubscriber { active: ${keys.keyIds.length > 0 ? keys.activeKeyId : '(keys not loaded)'} }`;
  }
}

/**
 * Makes the subscriber class for one DataSource. TypeORM instantiates subscriber classes itself
 * (and 0.3 caches one instance per class), so each call returns a new class bound to its options.
 * The class is registered ahead of every other subscriber, so the others' `afterLoad` see
 * plaintext; values are sealed after every other before-insert/update handler ran, so whatever
 * they set is sealed too.
 *
 * @example
 * ```ts
 * const dataSource = new DataSource({
 *   type: 'postgres',
 *   entities: [User],
 *   subscribers: [sealedSubscriber({ keys: KeyRing.fromEnv() })],
 * });
 * ```
 */
export function sealedSubscriber(options: SealedSubscriberOptions): new () => SealedSubscriberBase {
  const keys = requireKeys(options?.keys, 'sealedSubscriber');
  const indexKeys = options.indexKeys === undefined ? undefined : separateIndexKeys(keys, requireKeyRing(options.indexKeys, 'sealedSubscriber indexKeys'));
  const cipher = new FieldCipher(keys, {
    plaintextPassthrough: options.plaintextPassthrough ?? false,
    shreddedAsNull: options.shreddedAsNull ?? false,
    ...(indexKeys ? { indexKeys } : {}),
  });
  if (options.checkKeyIds) {
    if (isKeyVault(keys)) {
      throw new SealedError(
        'SEALED_CONFIG',
        'checkKeyIds needs a KeyRing: a KeyVault loads after initialize(), so call checkStoredKeyIds(dataSource) after vault.load()',
      );
    }
    checkKeyIdsAtInitialize(cipher, options.checkKeyIds === true ? {} : options.checkKeyIds);
  }
  const sealer = new EntitySealer(cipher);
  const guardQueries = options.guardQueries ?? true;
  class SealedSubscriber extends SealedSubscriberBase {
    protected readonly sealer = sealer;
    protected readonly guardQueries = guardQueries;
  }
  // What @EventSubscriber() does, but first in line: TypeORM calls subscribers in registration order.
  getMetadataArgsStorage().entitySubscribers.unshift({ target: SealedSubscriber });
  trackEntityListeners();
  translateUpsertTargets();
  noteConfigured(cipher);
  return SealedSubscriber;
}
