/** Exit codes scripts can rely on. */
export const EXIT = {
  /**
   * Done, goal reached: rotate, every value is under the active key; encrypt-existing, no plaintext
   * (or malformed value) is left; decrypt-all, no sealed value is left; verify, every value opens
   * and none is plaintext (and every blind index value matches); reindex, every index value is
   * under the active index key; census, no plaintext, malformed value, unknown key id or missing
   * index value. With
   * --dry-run: a real run would reach the goal.
   */
  ok: 0,
  /** Finished, goal not reached: values failed or remain (the report says which and why). */
  incomplete: 1,
  /** The command line is wrong. */
  usage: 2,
  /**
   * Could not start, nothing written: data source file, database connection, keys, missing
   * tables or columns, no encrypted column, or a refusal (key ids missing from the ring).
   */
  config: 3,
  /**
   * Stopped midway: the database refused a write (SEALED_WRITE_FAILED, e.g. a constraint or a
   * packet limit) or an unexpected error (e.g. the database went away). Rows written so far are
   * committed and readable: fix the cause and run it again.
   */
  error: 4,
} as const;
