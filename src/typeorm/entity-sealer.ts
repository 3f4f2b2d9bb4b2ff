import type { EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { SealedError } from '../errors';
import { describePrimaryKey, sealedColumnsOf, type SealedColumn } from '../metadata/column-plan';
import type { FieldCipher } from '../cipher/field-cipher';
import { SealBatch } from './seal-batch';

/** One field the sealer replaced before a write, to be put back after it. */
interface Replaced {
  column: ColumnMetadata;
  /** What the caller's object held (plaintext). */
  original: unknown;
  /** What the sealer put there (an envelope, or the database entity's equal value). */
  written: unknown;
}

/** What sealing one entity of a batch needs. */
interface Target {
  metadata: EntityMetadata;
  databaseEntity: ObjectLiteral | undefined;
  batch: SealBatch<Target>;
  state: RunnerState;
}

/** The fields a batch replaced in one object. */
interface Sealed {
  fields: Replaced[];
  batch: SealBatch<Target>;
  state: RunnerState;
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
}

const MAX_TRACKED_BATCHES = 64;
const WRITE_STATEMENT = /^\s*(?:INSERT|UPDATE|REPLACE|MERGE|WITH)\b/i;

/**
 * Applies the {@link FieldCipher} to whole entity objects on TypeORM's event paths:
 * - before a write, replaces the plaintext fields of the object TypeORM is about to write with
 *   envelopes (the caller's own object: save/insert/update/upsert all hand it over), at the last
 *   moment, after every other handler ran (see {@link SealBatch});
 * - after the write, a failed write, a rollback, or a refusal, puts the caller's plaintext back, so
 *   a second `save()` never encrypts ciphertext and the caller never sees it;
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
  queueForWrite(metadata: EntityMetadata, entity: ObjectLiteral, queryRunner: QueryRunner, databaseEntity?: ObjectLiteral): SealBatch<Target> | undefined {
    if (sealedColumnsOf(metadata).length === 0) return undefined;
    const state = this.stateOf(queryRunner);
    let batch = state.open;
    if (!batch) {
      const created: SealBatch<Target> = SealBatch.create<Target>(
        (e, target) => this.sealForWrite(target, e),
        (e) => this.restore(e),
        () => releaseIfRestored(state, created),
      );
      state.open = batch = created;
      state.sealed.push(created);
      if (state.sealed.length > MAX_TRACKED_BATCHES) state.sealed.shift();
      queueMicrotask(() => {
        if (state.open === created) state.open = undefined;
      });
    }
    batch.entities.set(entity, { metadata, databaseEntity, batch, state });
    return batch;
  }

  /** Seals the encrypted fields of `entity` in place; on a refusal, every field it changed is put back. */
  private sealForWrite({ metadata, databaseEntity, batch, state }: Target, entity: ObjectLiteral): void {
    const earlier = this.replaced.get(entity)?.fields;
    const replaced: Replaced[] = [];
    const primaryKey = () => describePrimaryKey(metadata, entity);
    try {
      for (const sc of sealedColumnsOf(metadata)) {
        const current = sc.column.getEntityValue(entity);
        if (current === undefined || current === null) continue;
        // This object still holds what an earlier, failed write of ours put there: seal its plaintext.
        const value = earlier?.find((r) => r.column === sc.column && r.written === current)?.original ?? current;
        let written: unknown;
        if (databaseEntity && !this.stale.get(databaseEntity)?.has(sc.column) && this.equalsStored(sc, value, sc.column.getEntityValue(databaseEntity))) {
          written = sc.column.getEntityValue(databaseEntity);
        } else {
          written = this.cipher.seal(sc, value, { primaryKey });
        }
        if (written === current) continue; // nothing replaced, nothing to put back
        sc.column.setEntityValue(entity, written);
        replaced.push({ column: sc.column, original: value, written });
      }
    } catch (e) {
      for (const r of replaced) r.column.setEntityValue(entity, r.original);
      throw e;
    }
    this.forget(entity);
    if (replaced.length === 0) return;
    batch.outstanding++;
    this.replaced.set(entity, { fields: replaced, batch, state });
  }

  /** Puts the caller's plaintext back into an object after its write. */
  restore(entity: ObjectLiteral | object | undefined): void {
    if (!entity) return;
    for (const r of this.replaced.get(entity)?.fields ?? []) {
      if (r.column.getEntityValue(entity) === r.written) r.column.setEntityValue(entity, r.original);
    }
    this.forget(entity);
  }

  private forget(entity: object): void {
    const sealed = this.replaced.get(entity);
    if (!sealed) return;
    sealed.batch.outstanding--;
    this.replaced.delete(entity);
    releaseIfRestored(sealed.state, sealed.batch);
  }

  /** After a rollback, every object sealed on that query runner gets its plaintext back. */
  restoreAll(queryRunner: QueryRunner): void {
    const state = this.runners.get(queryRunner);
    if (!state) return;
    for (const batch of state.sealed) for (const entity of batch.entities.keys()) this.restore(entity);
    state.sealed = [];
  }

  /** After a failed query, the objects whose envelopes it carried get their plaintext back. */
  restoreFailed(queryRunner: QueryRunner, parameters: readonly unknown[] | object | undefined): void {
    const state = this.runners.get(queryRunner);
    if (!state || !parameters) return;
    const sent = new Set(Object.values(parameters).filter((p) => typeof p === 'string'));
    for (const batch of state.sealed) {
      for (const entity of batch.entities.keys()) {
        if (this.replaced.get(entity)?.fields.some((r) => sent.has(r.written as string))) this.restore(entity);
      }
    }
  }

  /**
   * Before a write statement: fail closed when an object of the latest batch no longer holds what
   * was sealed into it (a handler changed an encrypted field after sealing, e.g. after an `await`):
   * the statement would store that value unencrypted.
   */
  checkBeforeWrite(queryRunner: QueryRunner, sql: string): void {
    const latest = this.runners.get(queryRunner)?.sealed.at(-1);
    if (!latest?.sealed || latest.outstanding === 0 || !WRITE_STATEMENT.test(sql)) return;
    for (const [entity, target] of latest.entities) {
      for (const r of this.replaced.get(entity)?.fields ?? []) {
        if (r.column.getEntityValue(entity) === r.written) continue;
        for (const e of latest.entities.keys()) this.restore(e);
        const sc = sealedColumnsOf(target.metadata).find((c) => c.column === r.column)!;
        throw new SealedError(
          'SEALED_CONFIG',
          'the field was changed after it was sealed (by a subscriber or listener that changes encrypted fields after an await), so it would be written unencrypted; ' +
            'nothing was written. Change encrypted fields before the first await of beforeInsert/beforeUpdate',
          { entity: sc.entity, column: sc.path },
        );
      }
    }
  }

  /** Opens the encrypted fields of a loaded entity in place. */
  openLoaded(metadata: EntityMetadata, entity: ObjectLiteral): void {
    const plan = sealedColumnsOf(metadata);
    if (plan.length === 0) return;
    const earlier = this.opened.get(entity);
    const opened = earlier ?? new Array<unknown>(plan.length);
    const ctx = { primaryKey: () => describePrimaryKey(metadata, entity) };
    for (let i = 0; i < plan.length; i++) {
      const sc = plan[i]!;
      const stored = sc.column.getEntityValue(entity);
      if (stored === undefined || stored === null) continue;
      // TypeORM may announce the same object twice (relations): a field still holding what we
      // opened is plaintext already, whatever it looks like.
      if (earlier && i in earlier && earlier[i] === stored) continue;
      if (!this.cipher.isCurrent(stored)) this.markStale(entity, sc.column);
      const value = this.cipher.open(sc, stored, ctx);
      sc.column.setEntityValue(entity, value);
      opened[i] = value;
    }
    if (!earlier) this.opened.set(entity, opened);
  }

  private stateOf(queryRunner: QueryRunner): RunnerState {
    let state = this.runners.get(queryRunner);
    if (!state) this.runners.set(queryRunner, (state = { open: undefined, sealed: [] }));
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

/** Drops a fully sealed batch whose entities all have their plaintext back, so it keeps no object alive. */
function releaseIfRestored(state: RunnerState, batch: SealBatch<Target>): void {
  if (!batch.complete || batch.outstanding > 0) return;
  const at = state.sealed.indexOf(batch);
  if (at >= 0) state.sealed.splice(at, 1);
  batch.entities.clear();
}
