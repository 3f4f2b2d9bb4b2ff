import type { QueryRunner } from 'typeorm';
import { toLegacyText } from '../codec/legacy';
import { looksSealed } from '../envelope/format';
import { SealedError } from '../errors';
import type { ColumnCrypto } from '../typeorm/column-crypto';
import type { ColumnReport, RotationMode, RotationProgress, RowFailure } from './report';
import { ColumnSql, type RowLock, type Swap } from './sql';

/** Settings shared by every column of one walk. */
export interface WalkSettings {
  mode: RotationMode;
  crypto: ColumnCrypto;
  batchSize: number;
  dryRun: boolean;
  stopOnFailure: boolean;
  maxFailures: number;
  onProgress?: (progress: RotationProgress) => void;
}

/** What to do with one value: write `next`, count it as plaintext, or nothing. */
type Outcome = { next?: unknown; plaintext?: boolean };

/** What one batch attempt did; merged into the report only once its transaction committed. */
interface BatchTally {
  rows: number;
  lastKey: unknown[] | undefined;
  stop: boolean;
  examined: number;
  plaintext: number;
  rewritten: number;
  /** Rows sent to the compare-and-swap statement (rewritten + conflicts). */
  pending: number;
  failures: { primaryKey: string; error: SealedError }[];
}

/** Passes over a column at most: later passes pick up rows skipped because another process held them. */
const MAX_PASSES = 5;
const DEADLOCK_RETRIES = 3;

/** Deadlock or serialization failure: PostgreSQL 40P01/40001, MySQL/MariaDB 1213/1205. */
function isTransient(e: unknown): boolean {
  const driverError = (e as { driverError?: { code?: string; errno?: number } }).driverError ?? (e as { code?: string; errno?: number });
  return ['40P01', '40001'].includes(String(driverError?.code)) || [1213, 1205].includes(Number(driverError?.errno));
}

/**
 * Walks one encrypted column in primary-key order, one transaction per batch, writing the
 * batch's new values in one compare-and-swap statement (each row only where it still holds the
 * value that was read). A value that fails to open is reported and never
 * written. Memory holds one batch (plus the keys of failed rows).
 */
export class ColumnWalk {
  private readonly failedKeys = new Set<string>();
  private lastKey: unknown[] | undefined;
  readonly report: ColumnReport;

  constructor(
    private readonly sql: ColumnSql,
    private readonly settings: WalkSettings,
    private readonly failures: RowFailure[],
  ) {
    this.report = {
      entity: sql.sc.entity,
      column: sql.sc.path,
      table: sql.metadata.tablePath,
      examined: 0,
      rewritten: 0,
      conflicts: 0,
      failed: 0,
      plaintext: 0,
      remaining: 0,
      status: 'complete',
    };
  }

  /** Runs the walk; returns false when it stopped at a failure. */
  async run(runner: QueryRunner): Promise<boolean> {
    const { mode, dryRun } = this.settings;
    const condition = this.sql.needsWork(mode, this.settings.crypto.keys.activeKeyId);
    const writes = mode !== 'verify' && !dryRun;
    const total = await this.sql.count(runner, condition);
    const started = Date.now();
    let done = 0;
    let stopped = false;
    /** Rows still needing work, when counted after the last pass. */
    let left: number | undefined;
    for (let pass = 0; pass < MAX_PASSES && !stopped; pass++) {
      left = undefined;
      let cursor: unknown[] | undefined;
      let progressed = false;
      // First pass skips rows another process holds; later passes wait for them.
      const lock: RowLock = !writes ? 'none' : pass === 0 ? 'skip' : 'wait';
      for (;;) {
        const { rows, stop, wrote } = await this.batch(runner, condition, cursor, lock);
        progressed ||= wrote;
        stopped = stop;
        done += rows;
        this.settings.onProgress?.({ mode, entity: this.report.entity, column: this.report.column, done, total, rate: done / Math.max((Date.now() - started) / 1000, 1e-3) });
        if (stop || rows < this.settings.batchSize) break;
        cursor = this.lastKey;
      }
      if (!writes || !progressed) break;
      left = await this.sql.count(runner, condition);
      if (left <= this.failedKeys.size) break;
    }
    this.report.remaining = writes ? (left ?? (await this.sql.count(runner, condition))) : mode === 'verify' ? 0 : total;
    this.report.status = stopped
      ? 'stopped'
      : this.report.failed > 0
        ? 'failed'
        : this.report.remaining > 0 && writes
          ? 'incomplete'
          : 'complete';
    return !stopped;
  }

  /** One batch in its own transaction (writing modes), retried when the database reports a deadlock. */
  private async batch(runner: QueryRunner, condition: string, cursor: unknown[] | undefined, lock: RowLock): Promise<{ rows: number; stop: boolean; wrote: boolean }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const tally = await this.tryBatch(runner, condition, cursor, lock);
        this.merge(tally); // only a committed attempt counts
        this.lastKey = tally.lastKey;
        return { rows: tally.rows, stop: tally.stop, wrote: tally.pending > 0 };
      } catch (e) {
        if (attempt >= DEADLOCK_RETRIES || !isTransient(e)) throw e;
      }
    }
  }

  private async tryBatch(runner: QueryRunner, condition: string, cursor: unknown[] | undefined, lock: RowLock): Promise<BatchTally> {
    const writes = lock !== 'none';
    if (writes) await runner.startTransaction();
    try {
      const rows = await this.sql.batch(runner, condition, cursor, this.settings.batchSize, lock);
      const tally: BatchTally = { rows: rows.length, lastKey: rows.at(-1)?.key, stop: false, examined: 0, plaintext: 0, rewritten: 0, pending: 0, failures: [] };
      const pending: Swap[] = [];
      for (const row of rows) {
        const primaryKey = this.sql.describeKey(row.key);
        if (this.failedKeys.has(primaryKey)) continue;
        tally.examined++;
        const outcome = this.process(row.value, primaryKey);
        if (outcome instanceof SealedError) {
          tally.failures.push({ primaryKey, error: outcome });
          tally.stop = this.settings.stopOnFailure || this.failures.length + tally.failures.length >= this.settings.maxFailures;
          if (tally.stop) break;
          continue;
        }
        if (outcome.plaintext) tally.plaintext++;
        if (outcome.next === undefined) continue;
        if (writes) pending.push({ key: row.key, previous: row.value, next: outcome.next });
        else tally.rewritten++;
      }
      if (writes) {
        tally.pending = pending.length;
        tally.rewritten = await this.sql.swapMany(runner, pending);
        await runner.commitTransaction();
      }
      return tally;
    } catch (e) {
      if (writes && runner.isTransactionActive) await runner.rollbackTransaction();
      throw e;
    }
  }

  private merge(tally: BatchTally): void {
    const r = this.report;
    r.examined += tally.examined;
    r.plaintext += tally.plaintext;
    r.rewritten += tally.rewritten;
    r.conflicts += tally.pending - tally.rewritten;
    r.failed += tally.failures.length;
    const sc = this.sql.sc;
    for (const { primaryKey, error } of tally.failures) {
      this.failedKeys.add(primaryKey);
      if (this.failures.length >= this.settings.maxFailures) continue;
      const failure: RowFailure = { entity: sc.entity, column: sc.path, primaryKey, code: error.code, message: error.message };
      if (error.keyId !== undefined) failure.keyId = error.keyId;
      this.failures.push(failure);
    }
  }

  /** The new value for a stored one, or the SealedError that stops it from being processed. */
  private process(stored: unknown, primaryKey: string): Outcome | SealedError {
    const { mode, crypto } = this.settings;
    const sc = this.sql.sc;
    const key = () => primaryKey;
    try {
      switch (mode) {
        case 'rotate':
          return { next: crypto.seal(sc, crypto.open(sc, stored, key), key) };
        case 'decryptAll':
          return { next: toLegacyText(crypto.open(sc, stored, key), sc.valueType) };
        case 'encryptExisting':
          return { next: crypto.seal(sc, crypto.readLegacy(sc, stored, key), key) };
        case 'verify':
          if (!looksSealed(stored)) return { plaintext: true };
          crypto.open(sc, stored, key);
          return {};
      }
    } catch (e) {
      if (e instanceof SealedError) return e;
      throw e;
    }
  }
}
