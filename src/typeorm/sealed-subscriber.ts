import {
  EventSubscriber,
  type DataSource,
  type EntitySubscriberInterface,
  type BeforeQueryEvent,
  type EntityTarget,
  type InsertEvent,
  type LoadEvent,
  type ObjectLiteral,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
  type UpdateEvent,
} from 'typeorm';
import { dataSourceOf } from '../data-source-of';
import { Sealer } from '../envelope/sealer';
import { SealedError } from '../errors';
import { KeyRing } from '../keys/key-ring';
import { noteSubscriber } from '../metadata/subscriber-presence';
import { ColumnCrypto } from './column-crypto';
import { EntitySealer } from './entity-sealer';
import { WhereGuard } from './where-guard';

/** Options of {@link sealedSubscriber}. */
export interface SealedSubscriberOptions {
  /** The key ring: its active key seals, every key opens. Required. */
  keys: KeyRing;
  /**
   * Read values that are not envelopes (data written before the column was encrypted) as
   * plaintext instead of failing with `SEALED_PLAINTEXT`; they are sealed on their next save, or
   * all at once by the rotator's `encryptExisting`. Turn it on only while migrating. Default: `false`.
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
 * Base class of every subscriber class made by {@link sealedSubscriber}; lets helpers such as
 * {@link openRawRows} find the sealer of a DataSource.
 */
export abstract class SealedSubscriberBase implements EntitySubscriberInterface<ObjectLiteral> {
  /** The sealer this subscriber applies. */
  abstract readonly sealer: EntitySealer;
  /** Whether {@link WhereGuard} checks every query. */
  protected abstract readonly guardQueries: boolean;
  private readonly guards = new WeakMap<DataSource, WhereGuard>();

  constructor() {
    noteSubscriber();
  }

  beforeQuery(event: BeforeQueryEvent): void {
    if (!this.guardQueries) return;
    const dataSource = dataSourceOf(event);
    let guard = this.guards.get(dataSource);
    if (!guard) this.guards.set(dataSource, (guard = new WhereGuard(dataSource.entityMetadatas)));
    guard.check(event.query);
  }

  beforeInsert(event: InsertEvent<ObjectLiteral>): void {
    if (event.entity) this.sealer.sealForWrite(event.metadata, event.entity, event.queryRunner);
  }

  afterInsert(event: InsertEvent<ObjectLiteral>): void {
    this.sealer.restore(event.entity, event.queryRunner);
  }

  beforeUpdate(event: UpdateEvent<ObjectLiteral>): void {
    if (event.entity) this.sealer.sealForWrite(event.metadata, event.entity, event.queryRunner, event.databaseEntity);
  }

  afterUpdate(event: UpdateEvent<ObjectLiteral>): void {
    this.sealer.restore(event.entity, event.queryRunner);
  }

  afterLoad(entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>): void {
    if (event?.metadata) this.sealer.openLoaded(event.metadata, entity);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.sealer.restoreAll(event.queryRunner);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    this.sealer.forget(event.queryRunner);
  }
}

/**
 * Makes the subscriber class for one DataSource. TypeORM instantiates subscriber classes itself
 * (and 0.3 caches one instance per class), so each call returns a new class bound to its options.
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
  if (!options || !(options.keys instanceof KeyRing)) {
    throw new SealedError('SEALED_CONFIG', 'sealedSubscriber needs { keys: KeyRing } (e.g. KeyRing.fromEnv())');
  }
  const sealer = new EntitySealer(new ColumnCrypto(new Sealer(options.keys), options.plaintextPassthrough ?? false));
  const guardQueries = options.guardQueries ?? true;
  class SealedSubscriber extends SealedSubscriberBase {
    readonly sealer = sealer;
    protected readonly guardQueries = guardQueries;
  }
  EventSubscriber()(SealedSubscriber);
  return SealedSubscriber;
}

/** The sealer registered on a DataSource; throws `SEALED_CONFIG` when there is none. */
export function sealerOf(dataSource: DataSource): EntitySealer {
  const subscriber = dataSource.subscribers.find((s): s is SealedSubscriberBase => s instanceof SealedSubscriberBase);
  if (!subscriber) {
    throw new SealedError('SEALED_CONFIG', 'no sealedSubscriber(...) is registered on this DataSource (is it initialized?)');
  }
  return subscriber.sealer;
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
