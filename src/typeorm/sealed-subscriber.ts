import { inspect } from 'node:util';
import {
  getMetadataArgsStorage,
  type DataSource,
  type EntitySubscriberInterface,
  type EntityTarget,
  type InsertEvent,
  type LoadEvent,
  type ObjectLiteral,
  type QueryRunner,
  type TransactionRollbackEvent,
  type UpdateEvent,
} from 'typeorm';
import { dataSourceOf } from '../data-source-of';
import { Sealer } from '../envelope/sealer';
import { SealedError } from '../errors';
import { requireKeyRing, type KeyRing } from '../keys/key-ring';
import { ColumnCrypto } from './column-crypto';
import { checkDataSource, SEALED_SUBSCRIBER, sealedSubscribersOf } from './data-source-check';
import { EntitySealer } from './entity-sealer';
import { WhereGuard } from './where-guard';

/** Options of {@link sealedSubscriber}. */
export interface SealedSubscriberOptions {
  /** The key ring: its active key seals, every key opens. Required. */
  keys: KeyRing;
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
}

/**
 * The query events this subscriber reads. Declared here rather than taken from TypeORM, whose
 * query event types differ between 0.3 (generic) and 1.x.
 */
export interface SealedQueryEvent {
  /** The DataSource (TypeORM 1.x). */
  dataSource?: DataSource;
  /** The DataSource (TypeORM 0.3). */
  connection?: DataSource;
  queryRunner: QueryRunner;
  query: string;
  /** Positional (an array) or named (an object), by driver. */
  parameters?: readonly unknown[] | object;
}

/** A query event after the query ran. */
export interface SealedAfterQueryEvent extends SealedQueryEvent {
  success: boolean;
}

/**
 * Base class of every subscriber class made by {@link sealedSubscriber}. Other code recognises
 * these subscribers by a `Symbol.for` brand, not by this class, so two copies of the package
 * work together.
 */
export abstract class SealedSubscriberBase implements EntitySubscriberInterface<ObjectLiteral> {
  /** The sealer this subscriber applies. */
  protected abstract readonly sealer: EntitySealer;
  /** Whether {@link WhereGuard} checks every query. */
  protected abstract readonly guardQueries: boolean;
  private readonly guards = new WeakMap<DataSource, WhereGuard>();

  /** The brand other code (and other copies of this package) find this subscriber by. */
  get [SEALED_SUBSCRIBER](): EntitySealer {
    return this.sealer;
  }

  beforeQuery(event: SealedQueryEvent): void {
    const dataSource = dataSourceOf(event);
    checkDataSource(dataSource);
    this.sealer.checkBeforeWrite(event.queryRunner, event.query);
    if (!this.guardQueries) return;
    let guard = this.guards.get(dataSource);
    if (!guard) this.guards.set(dataSource, (guard = new WhereGuard(dataSource.entityMetadatas)));
    guard.check(event.query);
  }

  afterQuery(event: SealedAfterQueryEvent): void {
    if (!event.success) this.sealer.restoreFailed(event.queryRunner, event.parameters);
  }

  beforeInsert(event: InsertEvent<ObjectLiteral>): Promise<void> | void {
    checkDataSource(dataSourceOf(event));
    if (event.entity) return this.sealer.queueForWrite(event.metadata, event.entity, event.queryRunner);
  }

  afterInsert(event: InsertEvent<ObjectLiteral>): void {
    this.sealer.restore(event.entity);
  }

  beforeUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> | void {
    checkDataSource(dataSourceOf(event));
    if (event.entity) return this.sealer.queueForWrite(event.metadata, event.entity, event.queryRunner, event.databaseEntity);
  }

  afterUpdate(event: UpdateEvent<ObjectLiteral>): void {
    this.sealer.restore(event.entity);
  }

  afterLoad(entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>): void {
    if (!event?.metadata) {
      // Without the event there is no way to know the entity's columns: refuse rather than hand out ciphertext.
      throw new SealedError('SEALED_CONFIG', 'TypeORM called afterLoad without its event, so loaded values cannot be opened: use TypeORM 0.3.20 or later');
    }
    checkDataSource(dataSourceOf(event));
    this.sealer.openLoaded(event.metadata, entity);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.sealer.restoreAll(event.queryRunner);
  }

  /** `{ subscriber: 'sealedSubscriber', activeKeyId, keyIds }`: never key material. */
  toJSON(): { subscriber: string; activeKeyId: string; keyIds: readonly string[] } {
    const keys = this.sealer.crypto.keys;
    return { subscriber: 'sealedSubscriber', activeKeyId: keys.activeKeyId, keyIds: keys.keyIds };
  }

  [inspect.custom](): string {
    return `SealedSubscriber { active: ${this.sealer.crypto.keys.activeKeyId} }`;
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
  const keys = requireKeyRing(options?.keys, 'sealedSubscriber');
  const sealer = new EntitySealer(new ColumnCrypto(new Sealer(keys), options.plaintextPassthrough ?? false));
  const guardQueries = options.guardQueries ?? true;
  class SealedSubscriber extends SealedSubscriberBase {
    protected readonly sealer = sealer;
    protected readonly guardQueries = guardQueries;
  }
  // What @EventSubscriber() does, but first in line: TypeORM calls subscribers in registration order.
  getMetadataArgsStorage().entitySubscribers.unshift({ target: SealedSubscriber });
  configured.push(sealer);
  return SealedSubscriber;
}

/** Every sealer made by sealedSubscriber() in this process (copy of the package), oldest first. */
const configured: EntitySealer[] = [];

/**
 * The sealer registered on a DataSource, found by its brand (it may come from another copy of
 * this package). With `orOnlyConfigured`, a DataSource without one (TypeORM's CLI sets
 * `subscribers: []` for its migration commands) falls back to the only sealedSubscriber
 * configured in this process, if there is exactly one. Throws `SEALED_CONFIG` otherwise.
 */
export function sealerOf(dataSource: DataSource, orOnlyConfigured = false): EntitySealer {
  const registered = sealedSubscribersOf(dataSource);
  if (registered.length === 1) return (registered[0] as { [SEALED_SUBSCRIBER]: EntitySealer })[SEALED_SUBSCRIBER];
  if (registered.length > 1) checkDataSource(dataSource);
  if (orOnlyConfigured && configured.length === 1) return configured[0]!;
  throw new SealedError(
    'SEALED_CONFIG',
    !orOnlyConfigured || configured.length === 0
      ? 'no sealedSubscriber(...) is registered on this DataSource (is it initialized?); pass { keys } explicitly'
      : "no sealedSubscriber(...) is registered on this DataSource (TypeORM's CLI removes subscribers while it runs migrations), " +
          `and this process configured ${configured.length}, so which keys to use is ambiguous; pass { keys } explicitly`,
  );
}

/** Options of {@link openRawRows}. */
export interface OpenRawRowsOptions {
  /**
   * The query builder alias when rows come from `getRawMany()`/`getRawOne()` (keys are
   * `<alias>_<column>`). Default: none, keys are column database names as `query()` returns them.
   */
  alias?: string;
}

/**
 * Decrypts the encrypted columns of raw rows in place (raw results never pass through
 * `afterLoad`) and returns them.
 *
 * @example
 * ```ts
 * const rows = await dataSource.query('SELECT * FROM "user"');
 * openRawRows(dataSource, User, rows);               // rows[0].email is plaintext now
 * const raw = await repo.createQueryBuilder('u').getRawMany();
 * openRawRows(dataSource, User, raw, { alias: 'u' }); // raw[0].u_email
 * ```
 */
export function openRawRows<T extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<ObjectLiteral>,
  rows: T[],
  options: OpenRawRowsOptions = {},
): T[] {
  return sealerOf(dataSource).openRawRows(dataSource.getMetadata(entity), rows, options.alias);
}
