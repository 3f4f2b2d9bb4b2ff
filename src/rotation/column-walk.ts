import { isDeepStrictEqual } from 'node:util';
import type { QueryRunner } from 'typeorm';
import type { FieldCipher, FieldContext } from '../cipher/field-cipher';
import { ENVELOPE_PREFIX } from '../envelope/format';
import { SealedError } from '../errors';
import { censusOf, emptiedWarning, missingIndexNote, valuesLeft } from './column-census';
import { retrying, type RowLock } from '../compat/dialect';
import type { FailureTally } from './failure-tally';
import type { ColumnReport, RotationMode, RotationProgress } from './report';
import { ColumnSql, type BatchRow, type KeyWindow, type ScopedRotation, type Swap } from './sql';

/** Settings shared by every column of one walk. */
export interface WalkSettings {
  mode: RotationMode;
  cipher: FieldCipher;
  batchSize: number;
  dryRun: boolean;
  stopOnFailure: boolean;
  /** Reindex: read every row and rewrite each index value that differs from its value's, not only missing ones and those under an older index key. */
  recompute?: boolean;
  /** Rotate: only values under data keys of this key scope (a key vault's); others are left. Default: every scope. */
  scope?: string;
  onProgress?: (progress: RotationProgress) => void;
}

/** What to do with one value: write `next`, or nothing. */
type Outcome = { next?: unknown };

/** What one batch attempt did; merged into the report only once its transaction committed. */
interface BatchTally {
  rows: number;
  stop: boolean;
  examined: number;
  rewritten: number;
  /** Rows sent to the compare-and-swap statement (rewritten, conflicts, and rows it could not find). */
  pending: number;
  /** Rows whose value changed under the rotator (the compare-and-swap missed). */
  conflicts: number;
  /** Keys of those conflicts that still need work: a later pass walks them again. */
  conflictKeys: string[];
  failures: { primaryKey: string; error: SealedError }[];
}

/** Passes over a column at most: later passes pick up rows skipped because another process held them. */
const MAX_PASSES = 5;

/**
 * Walks one encrypted column in primary-key order, one transaction per batch, writing the
 * batch's new values in one compare-and-swap statement (each row only where it still holds the
 * value that was read). A value that fails to open is reported and never written, and so is a
 * row the compare-and-swap cannot find by the key read back (see {@link ColumnWalk.classifyMisses}).
 * Memory holds one batch (plus the keys of failed and conflicting rows).
 */
export class ColumnWalk {
  private readonly failedKeys = new Set<string>();
  /** Rows whose value changed under the rotator: a later pass walks them again, without examining them twice. */
  private readonly conflictKeys = new Set<string>();
  readonly report: ColumnReport;
  /** What the operator should know about this column after the walk. */
  readonly warnings: string[] = [];
  /**
   * A dry run of a unique index: the index values it would have written, to the row (memory grows
   * with the rows it would write), so a duplicate in a later batch is reported as a real run would.
   */
  private readonly dryRunHolders: Map<string, string> | undefined;

  constructor(
    private readonly sql: ColumnSql,
    private readonly settings: WalkSettings,
    private readonly failures: FailureTally,
  ) {
    this.dryRunHolders = settings.dryRun && sql.target === 'index' && sql.sc.index!.unique ? new Map() : undefined;
    this.report = {
      entity: sql.sc.entity,
      column: sql.sc.path,
      table: sql.metadata.tablePath,
      ...(sql.target === 'index' ? { blindIndex: sql.sc.index!.column.propertyPath } : {}),
      examined: 0,
      rewritten: 0,
      conflicts: 0,
      failed: 0,
      plaintext: 0,
      malformed: 0,
      remaining: 0,
      status: 'complete',
    };
  }

  /** Runs the walk; returns false when it stopped at a failure. */
  async run(runner: QueryRunner): Promise<boolean> {
    const { mode, dryRun } = this.settings;
    const { cipher } = this.settings;
    // `left` selects what keeps the goal from being reached; the batches read it, or every row to recompute
    const left = this.sql.needsWork(
      mode,
      this.sql.target === 'index' ? cipher.indexKeys!.activeKeyId : cipher.keys.activeKeyId,
      cipher.keys.shreddedKeyIds,
      this.scopedRotation(),
    );
    const condition = this.settings.recompute && this.sql.target === 'index' ? '1 = 1' : left;
    const writes = mode !== 'verify' && !dryRun;
    const total = await this.sql.count(runner, condition);
    const started = Date.now();
    let done = 0;
    let stopped = false;
    for (let pass = 0; pass < MAX_PASSES && !stopped; pass++) {
      let cursor: unknown[] | undefined;
      let progressed = false;
      // First pass skips rows another process holds; later passes wait for them.
      const lock: RowLock = !writes ? 'none' : pass === 0 ? 'skip' : 'wait';
      for (;;) {
        // The batch covers the next `batchSize` keys (a window found by the primary key index alone),
        // so the database never scans or sorts past it, however few of its rows need work.
        const end = await this.windowAfter(runner, cursor);
        const { rows, stop, wrote } = await this.batch(runner, condition, { after: cursor, upTo: end }, lock);
        progressed ||= wrote;
        stopped = stop;
        done += rows;
        this.settings.onProgress?.({
          mode,
          entity: this.report.entity,
          column: this.report.column,
          done,
          total,
          rate: done / Math.max((Date.now() - started) / 1000, 1e-3),
        });
        if (stop || end === undefined) break;
        cursor = end;
      }
      if (!writes || !progressed) break;
      if ((await this.sql.count(runner, left)) <= this.failedKeys.size) break;
    }
    await this.finish(runner, stopped);
    return !stopped;
  }

  /**
   * For a rotation: which keys to move from. A scoped column's values go from every loaded key that
   * is no scope's active key (nor shredded) to their own scope's active key; with a `scope` setting,
   * only that scope's keys, and no value of an unscoped column.
   */
  private scopedRotation(): ScopedRotation | undefined {
    const { cipher, scope } = this.settings;
    const keys = cipher.keys;
    if (!this.sql.sc.scope && scope === undefined) return undefined;
    if (!this.sql.sc.scope) return { from: [] };
    const active = new Set(keys.activeKeyIds ?? [keys.activeKeyId]);
    return { from: keys.keyIds.filter((id) => !active.has(id) && (scope === undefined || keys.scopeOf?.(id) === scope)) };
  }

  /**
   * The end of the key window after `cursor`: `batchSize` keys on, or further where that key reads
   * back as the cursor itself (a driver that rounds keys, e.g. microsecond timestamps to the
   * millisecond of a JavaScript Date), so that every window moves the walk on.
   */
  private async windowAfter(runner: QueryRunner, cursor: unknown[] | undefined): Promise<unknown[] | undefined> {
    for (let size = this.settings.batchSize; ; size *= 2) {
      const end = await this.sql.windowEnd(runner, cursor, size);
      if (end === undefined || cursor === undefined || !isDeepStrictEqual(end, cursor)) return end;
    }
  }

  /**
   * Reports a column the walk did not reach because it stopped at an earlier one: what it holds
   * and what remains, with status `not-walked` and a warning saying why.
   */
  async skip(runner: QueryRunner): Promise<void> {
    await this.finish(runner, false);
    this.report.status = 'not-walked';
    this.warnings.unshift(
      `${this.report.entity}.${this.report.column}: not walked: the walk stopped at an earlier column (a failure under stopOnFailure, or the failure limit); run again once that is fixed`,
    );
  }

  /** Fills in what the column holds now, what remains for the mode, warnings and the status. */
  private async finish(runner: QueryRunner, stopped: boolean): Promise<void> {
    const { mode, dryRun, cipher } = this.settings;
    const r = this.report;
    const census = this.sql.target === 'value' ? await censusOf(runner, this.sql, cipher.keys) : undefined;
    if (census) {
      r.plaintext = census.plaintext;
      r.malformed = census.malformed;
      if (census.shredded > 0 && (mode === 'rotate' || mode === 'decryptAll' || mode === 'verify')) {
        this.warnings.push(
          `${r.entity}.${r.column}: ${census.shredded} values are under shredded data keys; they can never be opened and were left as they are`,
        );
      }
      const scoped = mode === 'rotate' ? this.scopedRotation() : undefined;
      // a scoped rotation: what its condition still selects (keys of other scopes are not its work)
      const left = scoped
        ? await this.sql.count(runner, this.sql.needsWork(mode, cipher.keys.activeKeyId, cipher.keys.shreddedKeyIds, scoped))
        : valuesLeft(mode as Exclude<RotationMode, 'verify' | 'reindex'>, census, cipher.keys.activeKeyId);
      r.remaining = mode === 'verify' ? r.failed + r.plaintext : Math.max(left - (dryRun ? r.rewritten : 0), 0);
    } else {
      // an index walk: what its condition still selects; for verify, failures and rows without an index value
      const missing = mode === 'verify' ? await this.sql.count(runner, this.sql.missingIndex()) : 0;
      const left = mode === 'verify' ? r.failed + missing : await this.sql.count(runner, this.sql.needsWork(mode, cipher.indexKeys!.activeKeyId));
      r.remaining = Math.max(left - (dryRun ? r.rewritten : 0), 0);
      if (missing > 0) {
        this.warnings.push(`${r.entity}.${r.column} (index ${r.blindIndex!}): ${missingIndexNote(missing)}`);
      }
    }
    r.status = stopped ? 'stopped' : r.failed > 0 ? 'failed' : r.remaining > 0 ? 'incomplete' : 'complete';
    if (!census) return;
    const where = `${r.entity}.${r.column}`;
    const emptied = emptiedWarning(census);
    if (emptied) this.warnings.push(emptied);
    if (mode === 'rotate' && r.plaintext > 0) {
      this.warnings.push(
        `${where}: ${r.plaintext} plaintext values are not under any key; rotate leaves them: seal them with encryptExisting (CLI: encrypt-existing)`,
      );
    }
    if (mode !== 'verify' && mode !== 'decryptAll' && r.malformed > 0) {
      this.warnings.push(
        `${where}: ${r.malformed} values start with "${ENVELOPE_PREFIX}" but are not envelopes: damaged ciphertext, or plaintext that begins with "${ENVELOPE_PREFIX}". ` +
          'They are left as they are and fail to read; verify lists them',
      );
    }
  }

  /**
   * Before a batch is processed, with a key vault: loads the keys its values are under and the
   * active key of each scope it seals for (created at a scope's first sealing), which other
   * processes may have created since the vault was loaded.
   */
  private async prepareKeys(rows: readonly BatchRow[], runner: QueryRunner): Promise<void> {
    const { cipher, mode } = this.settings;
    if (!cipher.keys.prepare) return;
    const sc = this.sql.sc;
    const keyIds = rows.map((r) => cipher.keyIdOf(r.value)).filter((id): id is string => id !== undefined);
    const scopes: string[] = [];
    // a dry run writes nothing, so it creates no key: values of a scope without one count as would-be sealed
    if (sc.scope && !this.settings.dryRun && (mode === 'rotate' || mode === 'encryptExisting')) {
      for (const row of rows) {
        try {
          scopes.push(cipher.scopeOf(sc, { scope: () => row.scope }));
        } catch {
          // the row's failure is reported when it is processed
        }
      }
    }
    await cipher.keys.prepare({ scopes, keyIds }, runner);
  }

  /** One batch in its own transaction (writing modes), retried while the database reports a transient error. */
  private async batch(runner: QueryRunner, condition: string, window: KeyWindow, lock: RowLock): Promise<{ rows: number; stop: boolean; wrote: boolean }> {
    const tally = await retrying(this.sql.dialect, () => this.tryBatch(runner, condition, window, lock));
    this.merge(tally); // only a committed attempt counts
    return { rows: tally.rows, stop: tally.stop, wrote: tally.pending > 0 };
  }

  private async tryBatch(runner: QueryRunner, condition: string, window: KeyWindow, lock: RowLock): Promise<BatchTally> {
    const writes = lock !== 'none';
    if (writes) await runner.startTransaction();
    try {
      if (writes) await this.sql.lockForWriting(runner);
      const rows = await this.sql.batch(runner, condition, window, lock);
      await this.prepareKeys(rows, runner);
      const tally: BatchTally = { rows: rows.length, stop: false, examined: 0, rewritten: 0, pending: 0, conflicts: 0, conflictKeys: [], failures: [] };
      const pending: Swap[] = [];
      for (const row of rows) {
        const primaryKey = this.sql.describeKey(row.key);
        if (this.failedKeys.has(primaryKey)) continue;
        if (!this.conflictKeys.has(primaryKey)) tally.examined++;
        const ctx: FieldContext = { primaryKey: () => primaryKey, scope: () => row.scope, row: () => row.key, runner };
        const outcome = this.sql.target === 'index' ? this.processIndex(row.value, row.index, primaryKey, ctx) : this.process(row.value, primaryKey, ctx);
        if (outcome instanceof SealedError) {
          this.fail(tally, primaryKey, outcome);
          if (tally.stop) break;
          continue;
        }
        if (outcome.next !== undefined) pending.push({ key: row.key, previous: row.value, next: outcome.next });
      }
      const swaps = await this.withoutDuplicates(runner, pending, tally);
      if (!writes) {
        tally.rewritten = swaps.length;
        return tally;
      }
      tally.pending = swaps.length;
      tally.rewritten = await this.sql.swapMany(runner, swaps);
      if (tally.rewritten < swaps.length) await this.classifyMisses(runner, condition, window, lock, swaps, tally);
      await runner.commitTransaction();
      // a key vault's scope keys created in the batch are everyone's now (also without a subscriber to tell it)
      await this.settings.cipher.keys.afterTransaction?.(true, runner);
      return tally;
    } catch (e) {
      if (writes && runner.isTransactionActive) {
        await runner.rollbackTransaction();
        await this.settings.cipher.keys.afterTransaction?.(false, runner);
      }
      throw e;
    }
  }

  /**
   * For a unique blind index: the swaps whose index value no other row holds (in the database, or
   * earlier in the batch); each other one is a failure (`SEALED_DUPLICATE`, naming the row holding
   * it) and is not written, since the database would refuse the whole statement. Rows written
   * before the index existed, or during an index key change, can hold equal values.
   */
  private async withoutDuplicates(runner: QueryRunner, pending: Swap[], tally: BatchTally): Promise<Swap[]> {
    if (this.sql.target !== 'index' || !this.sql.sc.index!.unique || pending.length === 0 || tally.stop) return pending;
    const holders = await this.sql.indexHolders(
      runner,
      pending.map((swap) => swap.next as string),
    );
    // a dry run writes nothing: values it would have written in earlier batches are remembered here
    for (const swap of pending) {
      const earlier = this.dryRunHolders?.get(swap.next as string);
      if (earlier !== undefined && !holders.has(swap.next as string)) holders.set(swap.next as string, earlier);
    }
    const out: Swap[] = [];
    for (const swap of pending) {
      const primaryKey = this.sql.describeKey(swap.key);
      const holder = holders.get(swap.next as string);
      if (holder === undefined || holder === primaryKey) {
        holders.set(swap.next as string, primaryKey);
        this.dryRunHolders?.set(swap.next as string, primaryKey);
        out.push(swap);
        continue;
      }
      this.fail(
        tally,
        primaryKey,
        new SealedError(
          'SEALED_DUPLICATE',
          `another row (${holder}) holds the same value under the unique blind index, so the database would refuse it: resolve the duplicate, then run reindex again`,
          { entity: this.sql.sc.entity, column: this.sql.sc.path, primaryKey },
        ),
      );
      if (tally.stop) break;
    }
    return out;
  }

  /**
   * Tells apart the rows the compare-and-swap did not write, reading the window again with the batch's
   * own SELECT. A row that still holds the value read was not found by the primary key read back:
   * the driver changed the key (a timestamp with more precision than it keeps, a collation or
   * character set), so every pass would miss it again. It is a failure (`SEALED_CONFIG`), left as
   * it is. Every other row changed under the rotator: a conflict, walked again by a later pass
   * where it still needs work.
   */
  private async classifyMisses(
    runner: QueryRunner,
    condition: string,
    window: KeyWindow,
    lock: RowLock,
    pending: readonly Swap[],
    tally: BatchTally,
  ): Promise<void> {
    const now = new Map<string, unknown[]>(); // values per rendered key: rounded keys can share one
    for (const row of await this.sql.batch(runner, condition, window, lock)) {
      const primaryKey = this.sql.describeKey(row.key);
      now.set(primaryKey, [...(now.get(primaryKey) ?? []), row.value]);
    }
    let unmatched = 0;
    for (const swap of pending) {
      const primaryKey = this.sql.describeKey(swap.key);
      const values = now.get(primaryKey) ?? [];
      const same = values.findIndex((value) => isDeepStrictEqual(value, swap.previous));
      if (same < 0) {
        if (values.length > 0) tally.conflictKeys.push(primaryKey);
        continue;
      }
      values.splice(same, 1);
      unmatched++;
      const error = this.unmatchedKey(primaryKey);
      this.fail(tally, primaryKey, error);
    }
    tally.conflicts = Math.max(pending.length - tally.rewritten - unmatched, 0);
  }

  /** The failure of a row the compare-and-swap cannot find by its key: names the row, never its value. */
  private unmatchedKey(primaryKey: string): SealedError {
    return new SealedError(
      'SEALED_CONFIG',
      'the compare-and-swap UPDATE found no row by the primary key as the driver read it back, although the value had not changed: ' +
        'the primary key cannot be matched exactly (e.g. its precision, such as microseconds the driver rounds to milliseconds, or its collation or character set). ' +
        'The row was left as it was; give the table a key that reads back exactly, or have the driver read it as text',
      { entity: this.sql.sc.entity, column: this.sql.sc.path, primaryKey },
    );
  }

  /** Records a row failure in the batch's tally; the walk stops at one that stops it, or at the failure limit. */
  private fail(tally: BatchTally, primaryKey: string, error: SealedError): void {
    tally.failures.push({ primaryKey, error });
    tally.stop ||= (this.settings.stopOnFailure && this.stopsWalk(error)) || this.failures.full(tally.failures.length);
  }

  /**
   * Whether a failure stops the walk under `stopOnFailure`. `decryptAll` goes on past values that
   * start with `sealed:` but are not envelopes, and past values whose plaintext starts with
   * `sealed:` (it cannot write those back as plaintext): both are reported and left as they are.
   */
  private stopsWalk(error: SealedError): boolean {
    return !(this.settings.mode === 'decryptAll' && (error.code === 'SEALED_MALFORMED' || error.code === 'SEALED_UNSUPPORTED_VALUE'));
  }

  private merge(tally: BatchTally): void {
    const r = this.report;
    r.examined += tally.examined;
    r.rewritten += tally.rewritten;
    r.conflicts += tally.conflicts; // a dry run sends nothing: no conflicts
    for (const key of tally.conflictKeys) this.conflictKeys.add(key);
    r.failed += tally.failures.length;
    for (const { primaryKey, error } of tally.failures) {
      this.failedKeys.add(primaryKey);
      this.failures.add(this.sql.sc, primaryKey, error, this.report.blindIndex);
    }
  }

  /**
   * For an index walk: the index value to write for a stored value (reindex), or the check that the
   * stored index value matches it under the index key it names (verify); the SealedError otherwise.
   * A legacy plaintext value is read as the column's type, as lookups before encryptExisting need.
   */
  private processIndex(stored: unknown, index: unknown, primaryKey: string, ctx: FieldContext): Outcome | SealedError {
    const { mode, cipher } = this.settings;
    const sc = this.sql.sc;
    let value: unknown;
    try {
      value = cipher.isEnvelope(stored) ? cipher.open(sc, stored, ctx) : cipher.readLegacy(sc, stored, ctx);
    } catch (e) {
      // verify: the value's own walk reports it
      if (e instanceof SealedError) return mode === 'verify' ? {} : e;
      throw e;
    }
    try {
      if (mode !== 'verify') {
        const next = cipher.index(sc, value, ctx);
        return next === index ? {} : { next };
      }
      if (index === null || index === undefined) return {}; // missing: counted as remaining, filled by reindex
      const keyId = cipher.indexKeyIdOf(index);
      const mismatch = (why: string) =>
        new SealedError('SEALED_INDEX_MISMATCH', `${why}: set it to NULL and run reindex`, {
          entity: sc.entity,
          column: sc.path,
          primaryKey,
          ...(keyId ? { keyId } : {}),
        });
      if (keyId === undefined) return mismatch('the blind index column holds something that is not an index value');
      if (!cipher.indexKeys!.has(keyId)) return mismatch('the index value was computed under an index key the index key ring lacks');
      if (cipher.index(sc, value, ctx, keyId) !== index) {
        return mismatch(
          'the index value does not match the value (written by something other than the subscriber, copied from another row, or computed with another normalisation)',
        );
      }
      return {};
    } catch (e) {
      if (e instanceof SealedError) return e;
      throw e;
    }
  }

  /** The sealed value; in a dry run, for a scope whose first key a real run would create, a stand-in that only counts. */
  private sealOrCount(value: unknown, ctx: FieldContext): unknown {
    const { cipher, dryRun } = this.settings;
    const sc = this.sql.sc;
    if (dryRun && sc.scope && cipher.keys.activeKeyIdOf?.(cipher.scopeOf(sc, ctx), ctx.runner) === undefined) return '';
    return cipher.seal(sc, value, ctx);
  }

  /** The new value for a stored one, or the SealedError that stops it from being processed. */
  private process(stored: unknown, primaryKey: string, ctx: FieldContext): Outcome | SealedError {
    const { mode, cipher } = this.settings;
    const sc = this.sql.sc;
    try {
      switch (mode) {
        case 'rotate':
          return { next: this.sealOrCount(cipher.open(sc, stored, ctx), ctx) };
        case 'decryptAll': {
          const text = cipher.legacyText(sc, cipher.open(sc, stored, ctx));
          if (cipher.isEnvelope(text)) {
            return new SealedError(
              'SEALED_UNSUPPORTED_VALUE',
              `its plaintext starts with "${ENVELOPE_PREFIX}", so written back as plaintext it would read as an envelope; it stays sealed`,
              { entity: sc.entity, column: sc.path, primaryKey },
            );
          }
          return { next: text };
        }
        case 'encryptExisting':
          return { next: this.sealOrCount(cipher.readLegacy(sc, stored, ctx), ctx) };
        case 'verify':
        case 'reindex': // an index walk's; see processIndex
          if (cipher.isEnvelope(stored)) cipher.open(sc, stored, ctx); // plaintext is counted by the census
          return {};
      }
    } catch (e) {
      if (e instanceof SealedError) return e;
      throw e;
    }
  }
}
