import type { EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { SealedError } from '../errors';
import { describePrimaryKey, sealedColumnsOf, type SealedColumn } from '../metadata/column-plan';
import type { FieldCipher, FieldContext } from '../cipher/field-cipher';
import { handlersOfThisTurn, refusedByOtherHandlers } from './pending-handlers';
import { SealBatch } from './seal-batch';

/** One field the sealer replaced before a write, to be put back after it. */
interface Replaced {
  column: ColumnMetadata;
  /** What the caller's object held (plaintext). */
  original: unknown;
  /** What the sealer put there (an envelope, or the database entity's equal value). */
  written: unknown;
  /** The object the field is a property of: the entity, or an embedded object in it. */
  holder: object;
  /** The property's own descriptor on `holder` before sealing (undefined: it had none). */
  before: PropertyDescriptor | undefined;
  /**
   * The getter the sealer put on the property when it wrote an envelope: it returns `written` until
   * the field is restored. Undefined when the field was pointed at the stored value (no envelope,
   * a plain assignment: TypeORM may send no statement for it, so nothing would restore an accessor).
   */
  getter?: () => unknown;
  /** A value assigned to the field while it was sealed, put back in place of `original` after the write. */
  late?: { value: unknown };
  /** A blind index column the sealer set from the field's plaintext (never an envelope, never a carrier). */
  derived?: true;
}

/** What sealing one entity of a batch needs. */
interface Target {
  metadata: EntityMetadata;
  databaseEntity: ObjectLiteral | undefined;
  /** An update (`save()` of a loaded entity, `update()`, QueryBuilder update), not an insert. */
  update: boolean;
  /** The query runner TypeORM writes on. */
  runner: QueryRunner;
  batch: SealBatch<Target>;
  state: RunnerState;
}

/** The fields a batch replaced in one object. */
interface Sealed {
  fields: Replaced[];
  batch: SealBatch<Target>;
  state: RunnerState;
  /** A statement carrying one of its envelopes ran (and succeeded) on the query runner. */
  sent: boolean;
}

/** Batches of one query runner whose entities may still hold what the sealer wrote. */
interface RunnerState {
  /** The batch TypeORM is still announcing entities into (closed at the end of the turn). */
  open: SealBatch<Target> | undefined;
  /**
   * Batches with entities still holding sealed values, newest last. A batch leaves once all its
   * entities have their plaintext back; the list is bounded, so writes that never report back
   * cannot keep objects alive.
   */
  sealed: SealBatch<Target>[];
  /**
   * Each envelope put into an object on this runner that does not have its plaintext back yet, to
   * that object: finds the objects a statement carried, and a field holding another object's envelope.
   */
  carriers: Map<string, object>;
}

const MAX_TRACKED_BATCHES = 64;

/**
 * Applies the {@link FieldCipher} to whole entity objects on TypeORM's event paths:
 * - before a write, replaces the plaintext fields of the object TypeORM is about to write with
 *   envelopes (the caller's own object: save/insert/update/upsert all hand it over), at the last
 *   moment, after every other handler ran (see {@link SealBatch}); each becomes an accessor that
 *   returns its envelope until the field is restored, so a late assignment cannot reach the
 *   database (it is kept aside and put back after the write);
 * - after the write, a failed write, or a rollback of a write it sent, puts the caller's plaintext
 *   back, so a second `save()` never encrypts ciphertext and the caller never sees it;
 * - after a load, replaces envelopes with typed plaintext, remembering which fields were stale
 *   (plaintext or an older key) so that `save()` of the loaded entity re-seals them under the active key.
 *
 * A value that comes from the application is plaintext, always: it is sealed whatever it looks
 * like. Envelopes are recognised only by bookkeeping (what this sealer itself put into an object),
 * never by content, so a copied envelope cannot be used to make the application decrypt it.
 */
export class EntitySealer {
  private readonly replaced = new WeakMap<object, Sealed>();
  private readonly runners = new WeakMap<QueryRunner, RunnerState>();
  /** Each embedded object holding envelopes this sealer put there, to the entity being written with it (any query runner). */
  private readonly holders = new WeakMap<object, object>();
  /** What each loaded object's encrypted fields were set to when opened, by position in its column plan. */
  private readonly opened = new WeakMap<object, unknown[]>();
  /** Fields of loaded objects stored as plaintext or under an older key: re-sealed on `save()`. */
  private readonly stale = new WeakMap<object, Set<ColumnMetadata>>();

  constructor(readonly cipher: FieldCipher) {}

  /**
   * Queues `entity` for sealing before TypeORM writes it and returns the batch promise that
   * TypeORM awaits. With a `databaseEntity` (save of a loaded entity), a field equal to the stored
   * value is pointed at the stored value instead, so TypeORM sees no change and does not rewrite it.
   */
  queueForWrite(
    metadata: EntityMetadata,
    entity: ObjectLiteral,
    queryRunner: QueryRunner,
    update: boolean,
    databaseEntity?: ObjectLiteral,
  ): SealBatch<Target> | undefined {
    if (sealedColumnsOf(metadata).length === 0) return undefined;
    const state = this.stateOf(queryRunner);
    let batch = state.open;
    if (!batch) {
      const turn = handlersOfThisTurn();
      const created: SealBatch<Target> = SealBatch.create<Target>(
        async () => {
          const refused = await refusedByOtherHandlers(turn);
          await this.prepareScopes(created, refused);
          return refused;
        },
        (e, target) => this.sealForWrite(target, e),
        (e) => this.restore(e),
        () => releaseIfRestored(state, created),
      );
      state.open = batch = created;
      state.sealed.push(created);
      if (state.sealed.length > MAX_TRACKED_BATCHES) this.untrack(state.sealed.shift()!);
      queueMicrotask(() => {
        if (state.open === created) state.open = undefined;
      });
    }
    batch.entities.set(entity, { metadata, databaseEntity, update, runner: queryRunner, batch, state });
    return batch;
  }

  /**
   * Before a batch is sealed: the key vault loads (or creates, at a scope's first write) the active
   * key of every scope the batch writes to. Nothing to do without scoped fields.
   */
  private async prepareScopes(batch: SealBatch<Target>, refused: ReadonlySet<object>): Promise<void> {
    const keys = this.cipher.keys;
    if (!keys.prepare) return;
    const scopes = new Set<string>();
    let runner: QueryRunner | undefined;
    for (const [entity, { metadata, databaseEntity, runner: own }] of batch.entities) {
      runner = own;
      if (refused.has(entity)) continue;
      for (const sc of sealedColumnsOf(metadata)) {
        const value = sc.scope && sc.column.getEntityValue(entity);
        if (value === undefined || value === null) continue;
        try {
          scopes.add(this.cipher.scopeOf(sc, rowContext(sc, metadata, entity, databaseEntity, own)));
        } catch {
          // no usable scope: sealing the entity reports it
        }
      }
    }
    if (scopes.size > 0) await keys.prepare({ scopes: [...scopes] }, runner);
  }

  /** Seals the encrypted fields of `entity` in place; on a refusal, every field it changed is put back. */
  private sealForWrite({ metadata, databaseEntity, update, runner, batch, state }: Target, entity: ObjectLiteral): void {
    const earlier = this.replaced.get(entity)?.fields;
    const replaced: Replaced[] = [];
    const primaryKey = () => describePrimaryKey(metadata, entity);
    try {
      for (const sc of sealedColumnsOf(metadata)) {
        const current = sc.column.getEntityValue(entity);
        const moved = bindingMoves(sc, entity, update, databaseEntity);
        if (moved && current === undefined) {
          throw new SealedError(
            'SEALED_UNSUPPORTED_VALUE',
            `the write changes what the field is bound to (${moved}) but not the field, which would stay sealed for the old one and never open again: save the loaded entity with every such field, or set them in the same update`,
            { entity: sc.entity, column: sc.path },
          );
        }
        if (current === undefined || current === null) {
          // NULL has a NULL index; a field not written leaves its index alone (whatever the object says)
          if (sc.index) putIndex(sc, entity, current, earlier, replaced);
          continue;
        }
        const carrier = typeof current === 'string' ? state.carriers.get(current) : undefined;
        const holder = holderOf(sc, entity);
        if ((carrier !== undefined && carrier !== entity) || this.holdsOthersEnvelope(holder, entity, sc, current)) {
          throw new SealedError(
            'SEALED_CONFIG',
            'the field holds the envelope just sealed for another object being written: the two entities share one embedded object (or the value was copied from an object being saved). ' +
              'Nothing was written: give each entity its own embedded object',
            { entity: sc.entity, column: sc.path },
          );
        }
        // This object still holds what an earlier, failed write of ours put there: seal its plaintext
        // (or what was assigned to the field since).
        const previous = earlier?.find((r) => r.column === sc.column && r.written === current && holdsSealed(r, entity));
        const value = previous ? (previous.late ? previous.late.value : previous.original) : current;
        const before = previous ? previous.before : Object.getOwnPropertyDescriptor(holder, sc.column.propertyName);
        const ctx = sc.scope || sc.rowKey ? rowContext(sc, metadata, entity, databaseEntity, runner) : { primaryKey };
        if (
          !moved &&
          databaseEntity &&
          !this.stale.get(databaseEntity)?.has(sc.column) &&
          this.equalsStored(sc, value, sc.column.getEntityValue(databaseEntity))
        ) {
          const stored = sc.column.getEntityValue(databaseEntity);
          if (stored !== current) replaced.push(pointAt(sc, entity, holder, value, stored, before));
          if (sc.index) putIndex(sc, entity, undefined, earlier, replaced);
        } else {
          replaced.push(put(sc, entity, holder, value, this.cipher.seal(sc, value, ctx), before));
          if (sc.index) putIndex(sc, entity, this.cipher.index(sc, value, ctx), earlier, replaced);
        }
      }
    } catch (e) {
      for (const r of replaced) putBack(r, r.original);
      throw e;
    }
    this.forget(entity);
    if (replaced.length === 0) return;
    batch.outstanding++;
    this.replaced.set(entity, { fields: replaced, batch, state, sent: false });
    for (const r of replaced) if (r.holder !== entity) this.holders.set(r.holder, entity);
    for (const r of replaced) if (!r.derived && typeof r.written === 'string') state.carriers.set(r.written, entity);
  }

  /**
   * Whether an embedded object's field holds the envelope sealed into it for another entity still
   * being written, on any query runner (the two entities share the embedded object).
   */
  private holdsOthersEnvelope(holder: object, entity: object, sc: SealedColumn, current: unknown): boolean {
    const other = holder === entity ? undefined : this.holders.get(holder);
    if (other === undefined || other === entity) return false;
    return this.replaced.get(other)?.fields.some((r) => r.holder === holder && r.column === sc.column && r.written === current) ?? false;
  }

  /** Puts the caller's plaintext back into an object after its write. */
  restore(entity: ObjectLiteral | object | undefined): void {
    if (!entity) return;
    for (const r of this.replaced.get(entity)?.fields ?? []) {
      // An index property is the sealer's alone: it gets back what the caller's object held, in the
      // embedded object holding it now (TypeORM makes one after an insert if there was none).
      if (r.derived) putBack({ ...r, holder: embeddedHolder(entity, r.column) ?? r.holder }, r.original);
      else if (holdsSealed(r, entity)) putBack(r, r.late ? r.late.value : r.original);
    }
    this.forget(entity);
  }

  /**
   * Stops tracking the oldest batch of a query runner whose writes never reported back: its objects
   * are no longer reachable from the runner (a later `save()` of one still seals its plaintext).
   */
  private untrack(batch: SealBatch<Target>): void {
    for (const entity of batch.entities.keys()) {
      const sealed = this.replaced.get(entity);
      if (sealed?.batch !== batch) continue;
      dropCarriers(sealed, entity);
    }
  }

  private forget(entity: object): void {
    const sealed = this.replaced.get(entity);
    if (!sealed) return;
    dropCarriers(sealed, entity);
    for (const r of sealed.fields) if (this.holders.get(r.holder) === entity) this.holders.delete(r.holder);
    sealed.batch.outstanding--;
    this.replaced.delete(entity);
    releaseIfRestored(sealed.state, sealed.batch);
  }

  /**
   * After a query ran on a query runner: the objects whose envelopes a successful write carried are
   * marked as sent; those of a failed one get their plaintext back (that write did not happen).
   */
  afterQuery(queryRunner: QueryRunner, parameters: readonly unknown[] | object | undefined, success: boolean): void {
    const state = this.runners.get(queryRunner);
    if (!state || state.carriers.size === 0 || !parameters) return;
    for (const p of Object.values(parameters)) {
      const entity = typeof p === 'string' ? state.carriers.get(p) : undefined;
      if (entity === undefined) continue;
      if (!success) this.restore(entity);
      else this.replaced.get(entity)!.sent = true;
    }
  }

  /**
   * After a rollback, the objects whose writes it undid get their plaintext back. Objects sealed
   * but not yet sent keep their envelopes: they may belong to another operation on the same query
   * runner (concurrent saves in one transaction, SQLite's shared runner) that writes them next, and
   * giving them their plaintext now would send it. Their after-write event restores them; if their
   * write never comes, a later `save()` of the object seals the plaintext remembered for it.
   */
  afterRollback(queryRunner: QueryRunner): void {
    const state = this.runners.get(queryRunner);
    if (!state) return;
    for (const batch of [...state.sealed]) {
      for (const entity of [...batch.entities.keys()]) if (this.replaced.get(entity)?.sent) this.restore(entity);
    }
  }

  /**
   * Opens the encrypted fields of a loaded entity in place. With a key vault, when a value is under
   * a data key this process has not loaded (created by another process since), it loads it first
   * and returns the promise TypeORM awaits; otherwise it works synchronously.
   */
  openLoaded(metadata: EntityMetadata, entity: ObjectLiteral, runner?: QueryRunner, prepared = false): Promise<void> | void {
    const plan = sealedColumnsOf(metadata);
    if (plan.length === 0) return;
    if (!prepared && this.cipher.keys.prepare) {
      const missing = this.missingKeyIds(plan, entity);
      if (missing.length > 0) return this.cipher.keys.prepare({ keyIds: missing }, runner).then(() => this.openLoaded(metadata, entity, runner, true));
    }
    const earlier = this.opened.get(entity);
    const opened = earlier ?? new Array<unknown>(plan.length);
    const primaryKey = () => describePrimaryKey(metadata, entity);
    for (let i = 0; i < plan.length; i++) {
      const sc = plan[i]!;
      const ctx = sc.scope || sc.rowKey ? rowContext(sc, metadata, entity, undefined, runner) : { primaryKey };
      const stored = sc.column.getEntityValue(entity);
      if (stored === undefined || stored === null) continue;
      // TypeORM may announce the same object twice (relations): a field still holding what we
      // opened is plaintext already, whatever it looks like.
      if (earlier && i in earlier && earlier[i] === stored) continue;
      if (!this.cipher.isCurrent(sc, stored, ctx)) this.markStale(entity, sc.column);
      const value = this.cipher.open(sc, stored, ctx);
      sc.column.setEntityValue(entity, value);
      opened[i] = value;
    }
    if (!earlier) this.opened.set(entity, opened);
  }

  /** Key ids of the loaded envelopes the cipher's keys neither hold nor know as shredded. */
  private missingKeyIds(plan: readonly SealedColumn[], entity: ObjectLiteral): string[] {
    const keys = this.cipher.keys;
    const missing: string[] = [];
    for (const sc of plan) {
      const keyId = this.cipher.keyIdOf(sc.column.getEntityValue(entity));
      if (keyId !== undefined && !keys.has(keyId) && !keys.shreddedKeyIds?.includes(keyId)) missing.push(keyId);
    }
    return missing;
  }

  private stateOf(queryRunner: QueryRunner): RunnerState {
    let state = this.runners.get(queryRunner);
    if (!state) this.runners.set(queryRunner, (state = { open: undefined, sealed: [], carriers: new Map() }));
    return state;
  }

  private markStale(entity: object, column: ColumnMetadata): void {
    let columns = this.stale.get(entity);
    if (!columns) this.stale.set(entity, (columns = new Set()));
    columns.add(column);
  }

  /** Whether `value` equals what is stored (plaintext from an earlier load). */
  private equalsStored(sc: SealedColumn, value: unknown, stored: unknown): boolean {
    if (stored === undefined || stored === null || this.cipher.isEnvelope(stored)) return false;
    return this.cipher.sameValue(sc, value, stored);
  }
}

/**
 * The context of a value of a row: its primary key (for messages, and the row binding) and scope,
 * each the entity's, else the stored row's (a partial save).
 */
function rowContext(
  sc: SealedColumn,
  metadata: EntityMetadata,
  entity: ObjectLiteral,
  databaseEntity: ObjectLiteral | undefined,
  runner: QueryRunner | undefined,
): FieldContext {
  const valueOf = (column: ColumnMetadata) => {
    const own = column.getEntityValue(entity);
    return own === undefined && databaseEntity ? column.getEntityValue(databaseEntity) : own;
  };
  return {
    primaryKey: () => describePrimaryKey(metadata, entity),
    ...(sc.scope ? { scope: () => valueOf(sc.scope!) } : {}),
    ...(sc.rowKey ? { row: () => sc.rowKey!.map(valueOf) } : {}),
    ...(runner ? { runner } : {}),
  };
}

/**
 * What a write changes of what a field's values are bound to (its scope column, or a primary key
 * column of a row-bound field), named; undefined when nothing. A save changes it when the entity's
 * value differs from the stored row's; an update statement whenever it sets it (the rows' old
 * values are unknown here).
 */
function bindingMoves(sc: SealedColumn, entity: ObjectLiteral, update: boolean, databaseEntity: ObjectLiteral | undefined): string | undefined {
  if (!update) return undefined;
  for (const column of [...(sc.scope ? [sc.scope] : []), ...(sc.rowKey ?? [])]) {
    const value = column.getEntityValue(entity);
    if (value === undefined) continue;
    if (!databaseEntity) return column.propertyPath;
    const stored = column.getEntityValue(databaseEntity);
    if (stored !== undefined && String(stored) !== String(value)) return column.propertyPath;
  }
  return undefined;
}

/** Removes an object's envelopes from its query runner's carriers. */
function dropCarriers(sealed: Sealed, entity: object): void {
  for (const r of sealed.fields) if (sealed.state.carriers.get(r.written as string) === entity) sealed.state.carriers.delete(r.written as string);
}

/** The embedded object (or the entity) a column is a property of now; undefined when an embedded object on the way is missing. */
function embeddedHolder(entity: object, column: ColumnMetadata): object | undefined {
  let holder: unknown = entity;
  for (const name of column.embeddedMetadata?.parentPropertyNames ?? []) {
    holder = typeof holder === 'object' && holder !== null ? (holder as Record<string, unknown>)[name] : undefined;
  }
  return typeof holder === 'object' && holder !== null ? holder : undefined;
}

/** The object a sealed field is a property of: the entity itself, or the embedded object (`user.address`) holding it. */
function holderOf(sc: SealedColumn, entity: ObjectLiteral): object {
  return embeddedHolder(entity, sc.column) ?? entity;
}

/**
 * Replaces a field's value by `written` (an envelope) with an accessor: reads return `written`
 * until {@link putBack}, and an assignment meanwhile (by code TypeORM does not wait for, after
 * sealing) is kept aside instead of replacing it, so TypeORM can only ever read and write the
 * envelope; the assigned value is what the object holds after the write (an assignment of the
 * envelope itself, e.g. by an after-write listener that rewrites every field, is ignored). Refuses
 * an object that cannot take the accessor or does not read it back (frozen, sealed, a
 * non-configurable property, a getter-only inherited property, a Proxy that reads elsewhere):
 * TypeORM would write its plaintext, or a changed envelope.
 */
function put(sc: SealedColumn, entity: object, holder: object, original: unknown, written: unknown, before: PropertyDescriptor | undefined): Replaced {
  const getter = () => written;
  const replaced: Replaced = { column: sc.column, original, written, holder, before, getter };
  if (before === undefined && inheritedWithoutSetter(holder, sc.column.propertyName)) throw cannotTake(sc);
  try {
    Object.defineProperty(holder, sc.column.propertyName, {
      configurable: true,
      enumerable: before?.enumerable ?? true,
      get: getter,
      set: (value: unknown) => {
        if (value !== written) replaced.late = { value };
      },
    });
  } catch {
    // checked below; the TypeError's text is not ours to pass on
  }
  if (!holdsSealed(replaced, entity)) {
    if (ownGetter(replaced) === replaced.getter) putBack(replaced, original);
    throw cannotTake(sc);
  }
  return replaced;
}

/** Points an unchanged field at the equal stored value, so TypeORM sees no change (a plain assignment). */
function pointAt(sc: SealedColumn, entity: object, holder: object, original: unknown, stored: unknown, before: PropertyDescriptor | undefined): Replaced {
  const replaced: Replaced = { column: sc.column, original, written: stored, holder, before };
  try {
    sc.column.setEntityValue(entity as ObjectLiteral, stored);
  } catch {
    // checked below
  }
  if (!holdsSealed(replaced, entity)) throw cannotTake(sc);
  return replaced;
}

/**
 * Sets the blind index of `sc` to `value` (an index value, NULL, or undefined so that nothing is
 * written) for the write, whatever the object held there: only the sealer writes index columns.
 * After a failed write of ours, the index still holds what we put: the original is kept from then.
 */
function putIndex(
  sc: SealedColumn,
  entity: ObjectLiteral,
  value: string | null | undefined,
  earlier: readonly Replaced[] | undefined,
  replaced: Replaced[],
): void {
  const column = sc.index!.column;
  const holder = holderOf(sc, entity);
  const current = column.getEntityValue(entity);
  const previous = earlier?.find((r) => r.column === column && r.written === current);
  // An index left undefined is recorded too: TypeORM sets an unwritten nullable column to null in
  // the caller's object after an insert, and restoring the index removes that null again.
  if (current === value && !previous && value !== undefined) return;
  const r: Replaced = {
    column,
    original: previous ? previous.original : current,
    written: value,
    holder,
    before: previous ? previous.before : Object.getOwnPropertyDescriptor(holder, column.propertyName),
    derived: true,
  };
  try {
    // nothing to write: no property at all (TypeORM writes NULL for an undefined key of an embedded object)
    if (value === undefined) delete (holder as Record<string, unknown>)[column.propertyName];
    else (holder as Record<string, unknown>)[column.propertyName] = value;
  } catch {
    // checked below
  }
  if (!holdsSealed(r, entity)) throw cannotTake(sc);
  replaced.push(r);
}

/** Whether a replaced field still holds what the sealer put there (read as TypeORM reads it). */
function holdsSealed(r: Replaced, entity: object): boolean {
  if (r.getter && ownGetter(r) !== r.getter) return false;
  return r.column.getEntityValue(entity as ObjectLiteral) === r.written;
}

function cannotTake(sc: SealedColumn): SealedError {
  return new SealedError(
    'SEALED_UNSUPPORTED_VALUE',
    'the field cannot be replaced by its envelope: the object is frozen, the property cannot be redefined or has no setter, or the object does not read it back. ' +
      'The envelope is written into the object TypeORM saves: pass a plain object with writable fields',
    { entity: sc.entity, column: sc.path },
  );
}

/** Whether `name` is an inherited accessor without a setter (an assignment would throw or be lost). */
function inheritedWithoutSetter(holder: object, name: string): boolean {
  for (let proto = Object.getPrototypeOf(holder) as object | null; proto; proto = Object.getPrototypeOf(proto) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) return descriptor.get !== undefined && descriptor.set === undefined;
  }
  return false;
}

/** The getter on a sealed field's property now, if it has one. */
function ownGetter(r: Replaced): unknown {
  return Object.getOwnPropertyDescriptor(r.holder, r.column.propertyName)?.get;
}

/** Gives a sealed field its property back as it was before sealing, holding `value`. */
function putBack(r: Replaced, value: unknown): void {
  const name = r.column.propertyName;
  const holder = r.holder as Record<string, unknown>;
  if (!r.getter) {
    if (value === undefined && r.before === undefined) delete holder[name];
    else holder[name] = value;
  } else if (r.before && 'value' in r.before) {
    Object.defineProperty(r.holder, name, { ...r.before, value });
  } else {
    delete holder[name];
    if (r.before) Object.defineProperty(r.holder, name, r.before);
    holder[name] = value;
  }
}

/** Drops a fully sealed batch whose entities all have their plaintext back, so it keeps no object alive. */
function releaseIfRestored(state: RunnerState, batch: SealBatch<Target>): void {
  if (!batch.complete || batch.outstanding > 0) return;
  const at = state.sealed.indexOf(batch);
  if (at >= 0) state.sealed.splice(at, 1);
  batch.entities.clear();
}
