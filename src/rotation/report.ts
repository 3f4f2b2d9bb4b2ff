import type { SealedErrorCode } from '../errors';

/** What a {@link KeyRotator} walk does to each value. */
export type RotationMode = 'rotate' | 'encryptExisting' | 'decryptAll' | 'verify' | 'reindex';

/**
 * `complete`: the mode's goal is reached (see {@link ColumnReport.remaining}) and nothing failed.
 * `failed`: some values failed (see `failures`) and were left as they were. `stopped`: the walk
 * stopped at a failure (`stopOnFailure`, or `maxFailures` reached). `incomplete`: values still need
 * work (locked by another process, plaintext that `rotate` does not seal, values that start with
 * `sealed:` but are not envelopes): `warnings` says which. `not-walked`: a column after the one
 * where the walk stopped; nothing was examined, its counts come from the database.
 */
export type WalkStatus = 'complete' | 'failed' | 'stopped' | 'incomplete' | 'not-walked';

/** A value the rotator could not process. It wrote nothing for that row. */
export interface RowFailure {
  entity: string;
  column: string;
  /** The blind index column's property, when the failure is the index's (reindex, verify). */
  blindIndex?: string;
  /** `id=42`, or `a=1, b=2` for composite keys; control characters escaped. */
  primaryKey: string;
  /** Key id of the envelope, when the value named one. */
  keyId?: string;
  code: SealedErrorCode;
  /** The error message: names entity, column, key and row, never the value. */
  message: string;
}

/** Failures of one column with the same code and reason, counted. */
export interface FailureGroup {
  entity: string;
  column: string;
  /** The blind index column's property, when the failures are the index's. */
  blindIndex?: string;
  code: SealedErrorCode;
  /** The reason, without entity, column and row (the same for every failure of the group). */
  reason: string;
  /** Failures in the group, including those beyond `maxFailures`' list. */
  count: number;
  /** Primary keys of the first few rows of the group. */
  samples: string[];
}

/** Outcome for one encrypted column. */
export interface ColumnReport {
  entity: string;
  /** Property path, e.g. `email` or `address.street`. */
  column: string;
  table: string;
  /**
   * For the walk of a blind index (reindex, and the index part of encryptExisting and verify): the
   * index column's property path (`emailBlindIndex`). The counts are then of index values: rows
   * with a value and a missing or outdated index (reindex), index values that do not match their
   * value (verify); `plaintext` and `malformed` are 0 (the value column's own walk or census counts them).
   */
  blindIndex?: string;
  /** Rows read because the mode selects them (every non-null row for `verify`), each counted once however many passes read it. */
  examined: number;
  /** Rows written (`dryRun`: rows a real run would write). */
  rewritten: number;
  /** Rows whose value changed under the rotator (compare-and-swap missed); left as the application wrote them. Always 0 in a dry run. */
  conflicts: number;
  /**
   * Rows that failed to open or convert, and rows the compare-and-swap could not find by the
   * primary key read back (`SEALED_CONFIG`: a key the driver rounds, e.g. microseconds); not written.
   */
  failed: number;
  /** Non-null values that are plaintext (do not start with `sealed:`) when the walk ended. */
  plaintext: number;
  /** Values that start with `sealed:` but have no valid envelope header, when the walk ended. */
  malformed: number;
  /**
   * Values that keep the column from the mode's goal when the walk ended (in a dry run: that a
   * real run would leave): for `rotate`, values not under the active key (plaintext included);
   * for `encryptExisting`, plaintext and malformed values; for `decryptAll`, values that start with
   * `sealed:`; for `verify`, values that failed plus plaintext values. 0 when complete.
   */
  remaining: number;
  status: WalkStatus;
}

/** Outcome of a whole walk. The rotator returns it instead of throwing halfway. */
export interface RotationReport {
  mode: RotationMode;
  /** The worst status of any column (stopped, failed, incomplete, complete). */
  status: WalkStatus;
  dryRun: boolean;
  activeKeyId: string;
  /** Id of the active index key, when the walk covered blind indexes. */
  activeIndexKeyId?: string;
  columns: ColumnReport[];
  /** Up to `maxFailures` failures, in the order met. */
  failures: RowFailure[];
  /** Every failure, grouped by column, code and reason, with a count and sample rows. */
  failureGroups: FailureGroup[];
  /** What an operator should know: why values remain, columns that look emptied by a schema change. */
  warnings: string[];
  durationMs: number;
}

/** Counts for one encrypted column, computed with SQL from the envelope prefix. No value is opened. */
export interface ColumnCensus {
  entity: string;
  column: string;
  table: string;
  total: number;
  nulls: number;
  /** Non-null values that do not start with `sealed:` (empty strings included). */
  plaintext: number;
  /** Values per key id. */
  byKeyId: Record<string, number>;
  /** Values that start with `sealed:` but have no valid version, algorithm or key id. */
  malformed: number;
  /** Values under data keys a key vault shredded (also counted in `byKeyId`): unreadable for good. */
  shredded: number;
  /** Key ids found in the data that the ring lacks (shredded ones are not counted as lacking). */
  unknownKeyIds: string[];
}

/**
 * Counts for one blind index, from SQL on the index column (no value is opened): how far it is
 * filled, under which index keys, and what it reveals. Whoever reads the table sees which rows
 * share an index value, so `largestBucket` is how many rows an observer sees sharing the most
 * frequent one: a share near 1 / distinct means little is revealed, a large share (a field with
 * few possible values) reveals how often that value occurs.
 */
export interface IndexCensus {
  entity: string;
  /** The encrypted field's property path. */
  column: string;
  /** The index column's property path. */
  blindIndex: string;
  table: string;
  /** Rows whose field is not NULL. */
  values: number;
  /** Of those, rows without an index value (fill them with reindex). */
  missing: number;
  /** Index values per index key id. */
  byKeyId: Record<string, number>;
  /** Index key ids found that the index key ring lacks: lookups miss those rows until reindex. */
  unknownKeyIds: string[];
  /** Non-NULL values of the index column that are not index values (`<8 hex>:<hex>`): written by something else. */
  malformed: number;
  /** Distinct index values (during an index key change, a value counts once per key). */
  distinct: number;
  /** Rows sharing the most frequent index value. */
  largestBucket: number;
  /** `largestBucket` / rows with an index value (0 when there are none). */
  largestBucketShare: number;
}

export interface CensusReport {
  activeKeyId: string;
  columns: ColumnCensus[];
  /** One entry per blind index. */
  indexes: IndexCensus[];
  /** Id of the active index key, when the rotator has index keys. */
  activeIndexKeyId?: string;
  /** Columns that look emptied (every row NULL or empty), e.g. by a schema change that dropped and re-added them. */
  warnings: string[];
}

/** Progress of a walk, reported after every batch. */
export interface RotationProgress {
  mode: RotationMode;
  entity: string;
  column: string;
  /** Rows processed so far in this column. */
  done: number;
  /** Rows that needed work when the column's walk began. */
  total: number;
  /** Rows per second in this column so far. */
  rate: number;
}
