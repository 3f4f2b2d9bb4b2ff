import type { SealedErrorCode } from '../errors';

/** What a {@link KeyRotator} walk does to each value. */
export type RotationMode = 'rotate' | 'encryptExisting' | 'decryptAll' | 'verify';

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
  /** Key ids found in the data that the ring lacks. */
  unknownKeyIds: string[];
}

export interface CensusReport {
  activeKeyId: string;
  columns: ColumnCensus[];
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
