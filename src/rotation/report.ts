import type { SealedErrorCode } from '../errors';

/** What a {@link KeyRotator} walk does to each value. */
export type RotationMode = 'rotate' | 'encryptExisting' | 'decryptAll' | 'verify';

/** A value the rotator could not process. It wrote nothing for that row. */
export interface RowFailure {
  entity: string;
  column: string;
  /** `id=42`, or `a=1, b=2` for composite keys. */
  primaryKey: string;
  /** Key id of the envelope, when the value named one. */
  keyId?: string;
  code: SealedErrorCode;
  /** The error message: names entity, column, key and row, never the value. */
  message: string;
}

/** Outcome for one encrypted column. */
export interface ColumnReport {
  entity: string;
  /** Property path, e.g. `email` or `address.street`. */
  column: string;
  table: string;
  /** Rows read because they needed work (every non-null row for `verify`). */
  examined: number;
  /** Rows written (`dryRun`: rows that would be written). */
  rewritten: number;
  /** Rows whose value changed under the rotator (compare-and-swap missed); left as the application wrote them. */
  conflicts: number;
  /** Rows that failed to open or convert; not written. */
  failed: number;
  /** `verify` only: non-null values that are plaintext. */
  plaintext: number;
  /** Rows still needing work when the walk ended (0 when complete). */
  remaining: number;
  status: 'complete' | 'failed' | 'stopped' | 'incomplete';
}

/** Outcome of a whole walk. The rotator returns it instead of throwing halfway. */
export interface RotationReport {
  mode: RotationMode;
  /**
   * `complete`: every value is as the mode wants it and nothing failed. `failed`: some values
   * failed (see `failures`) and were left as they were. `stopped`: the walk stopped at the first
   * failure (`stopOnFailure`). `incomplete`: rows still need work (e.g. locked by another process).
   */
  status: 'complete' | 'failed' | 'stopped' | 'incomplete';
  dryRun: boolean;
  activeKeyId: string;
  columns: ColumnReport[];
  /** Up to `maxFailures` failures, in the order met. */
  failures: RowFailure[];
  durationMs: number;
}

/** Counts for one encrypted column, computed with SQL from the envelope prefix. */
export interface ColumnCensus {
  entity: string;
  column: string;
  table: string;
  total: number;
  nulls: number;
  /** Non-null values that do not start with `sealed:`. */
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
