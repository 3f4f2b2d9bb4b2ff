import type { EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { encodeValue } from '../codec/codec';
import { looksSealed } from '../envelope/format';
import { describePrimaryKey, sealedColumnsOf, type SealedColumn } from '../metadata/column-plan';
import type { ColumnCrypto } from './column-crypto';

/** One field the sealer replaced before a write, to be put back after it. */
interface Replaced {
  column: ColumnMetadata;
  /** What the caller's object held (plaintext). */
  original: unknown;
  /** What the sealer put there (an envelope, or the database entity's equal value). */
  written: unknown;
}

/**
 * Applies {@link ColumnCrypto} to whole entity objects on TypeORM's event paths:
 * - before a write, replaces plaintext fields of the object TypeORM is about to write with envelopes
 *   (the caller's own object: save/insert/update/upsert all hand it over);
 * - after the write (or a rollback), puts the caller's plaintext back, so a second `save()` never
 *   encrypts ciphertext and the caller never sees it;
 * - after a load, replaces envelopes with typed plaintext, remembering which fields were stale
 *   (plaintext or an older key) so that the row's next update re-seals them under the active key.
 */
export class EntitySealer {
  private readonly replaced = new WeakMap<object, Replaced[]>();
  private readonly inFlight = new WeakMap<QueryRunner, Set<object>>();
  private readonly opened = new WeakSet<object>();
  /** Fields of loaded objects stored as plaintext or under an older key: re-sealed on the row's next update. */
  private readonly stale = new WeakMap<object, Set<ColumnMetadata>>();

  constructor(readonly crypto: ColumnCrypto) {}

  /**
   * Seals the encrypted fields of `entity` in place before TypeORM writes it. With a
   * `databaseEntity` (save of a loaded entity), a field equal to the stored value is pointed at
   * the stored value instead, so TypeORM sees no change and does not rewrite it.
   */
  sealForWrite(metadata: EntityMetadata, entity: ObjectLiteral, queryRunner?: QueryRunner, databaseEntity?: ObjectLiteral): void {
    const plan = sealedColumnsOf(metadata);
    if (plan.length === 0) return;
    const earlier = this.replaced.get(entity);
    const replaced: Replaced[] = [];
    const primaryKey = () => describePrimaryKey(metadata, entity);
    for (const sc of plan) {
      const current = sc.column.getEntityValue(entity);
      if (current === undefined || current === null) continue;
      // A write that failed after sealing left our envelope in the object: seal the plaintext again.
      const value = earlier?.find((r) => r.column === sc.column && r.written === current)?.original ?? current;
      let written: unknown;
      if (databaseEntity && !this.stale.get(databaseEntity)?.has(sc.column) && this.equalsStored(sc, value, sc.column.getEntityValue(databaseEntity))) {
        written = sc.column.getEntityValue(databaseEntity);
      } else if (looksSealed(value) && this.crypto.opens(sc, value)) {
        continue; // already ciphertext of this very column (e.g. copied from another row): keep it
      } else {
        written = this.crypto.seal(sc, value, primaryKey);
      }
      if (written === current) continue; // nothing replaced, nothing to put back
      sc.column.setEntityValue(entity, written);
      replaced.push({ column: sc.column, original: value, written });
    }
    if (replaced.length === 0) return;
    this.replaced.set(entity, replaced);
    if (queryRunner?.isTransactionActive) {
      let objects = this.inFlight.get(queryRunner);
      if (!objects) this.inFlight.set(queryRunner, (objects = new Set()));
      objects.add(entity);
    }
  }

  /** Puts the caller's plaintext back into an object after its write. */
  restore(entity: ObjectLiteral | undefined, queryRunner?: QueryRunner): void {
    if (!entity) return;
    const replaced = this.replaced.get(entity);
    if (!replaced) return;
    for (const r of replaced) {
      if (r.column.getEntityValue(entity) === r.written) r.column.setEntityValue(entity, r.original);
    }
    this.replaced.delete(entity);
    if (queryRunner) this.inFlight.get(queryRunner)?.delete(entity);
  }

  /** After a rollback, every object sealed in that transaction gets its plaintext back. */
  restoreAll(queryRunner: QueryRunner): void {
    const objects = this.inFlight.get(queryRunner);
    if (!objects) return;
    this.inFlight.delete(queryRunner);
    for (const entity of objects) this.restore(entity);
  }

  /** After a commit the transaction's bookkeeping is dropped (objects were restored one by one). */
  forget(queryRunner: QueryRunner): void {
    this.inFlight.delete(queryRunner);
  }

  /** Opens the encrypted fields of a loaded entity in place. */
  openLoaded(metadata: EntityMetadata, entity: ObjectLiteral): void {
    const plan = sealedColumnsOf(metadata);
    if (plan.length === 0) return;
    const reopened = this.opened.has(entity);
    const primaryKey = () => describePrimaryKey(metadata, entity);
    for (const sc of plan) {
      const stored = sc.column.getEntityValue(entity);
      if (stored === undefined || stored === null) continue;
      // TypeORM may announce the same object twice (relations): its fields are plaintext already.
      if (reopened && !looksSealed(stored)) continue;
      if (!this.crypto.isCurrent(stored)) this.markStale(entity, sc.column);
      sc.column.setEntityValue(entity, this.crypto.open(sc, stored, primaryKey));
    }
    this.opened.add(entity);
  }

  /**
   * Opens the encrypted columns of raw result rows in place. Keys are column database names, or
   * `<alias>_<column>` when `alias` is given (the shape of `getRawMany()`).
   */
  openRawRows<T extends ObjectLiteral>(metadata: EntityMetadata, rows: T[], alias?: string): T[] {
    const plan = sealedColumnsOf(metadata);
    const keyOf = (column: ColumnMetadata) => (alias === undefined ? column.databaseName : `${alias}_${column.databaseName}`);
    const primary = metadata.primaryColumns.map((column) => ({ path: column.propertyPath, key: keyOf(column) }));
    for (const row of rows) {
      const primaryKey = () =>
        primary.every((p) => row[p.key] !== undefined) ? primary.map((p) => `${p.path}=${String(row[p.key])}`).join(', ') : undefined;
      for (const sc of plan) {
        const key = keyOf(sc.column);
        const stored = row[key];
        if (stored === undefined || stored === null) continue;
        (row as ObjectLiteral)[key] = this.crypto.open(sc, stored, primaryKey);
      }
    }
    return rows;
  }

  private markStale(entity: object, column: ColumnMetadata): void {
    let columns = this.stale.get(entity);
    if (!columns) this.stale.set(entity, (columns = new Set()));
    columns.add(column);
  }

  /** Whether `value` equals what is stored (plaintext from an earlier load, or an envelope). */
  private equalsStored(sc: SealedColumn, value: unknown, stored: unknown): boolean {
    if (stored === undefined || stored === null || looksSealed(stored)) return false;
    if (value === stored) return true;
    try {
      return Buffer.from(encodeValue(value, sc.valueType)).equals(encodeValue(stored, sc.valueType));
    } catch {
      return false;
    }
  }
}
