/**
 * Every error this library raises is a {@link SealedError} with a stable `code`.
 * Messages and fields name the entity, column, primary key and key id involved; they never carry
 * plaintext, ciphertext bodies or key bytes.
 */

/** Stable error codes. Match on `error.code`, never on the message text. */
export type SealedErrorCode =
  /** A key is not 32 bytes of base64/base64url, or a key ring specification is malformed. */
  | 'SEALED_INVALID_KEY'
  /** A key was declared under an id that is not its fingerprint: a wrong key under a known id. */
  | 'SEALED_KEY_ID_MISMATCH'
  /** A value was sealed under a key id that the ring does not hold: the key is missing or wrong. */
  | 'SEALED_WRONG_KEY'
  /** Authentication failed: the value was altered, truncated, or moved from another table/column. */
  | 'SEALED_TAMPERED'
  /** A value's data key was shredded (destroyed on purpose in a key vault): the value can never be read again. */
  | 'SEALED_SHREDDED'
  /**
   * A key vault's table of data keys is missing, cannot be read, or holds a row that is not a
   * data key (a wrong id, scope or state); or a data key is wrapped by something no configured
   * wrapper unwraps.
   */
  | 'SEALED_KEY_STORE'
  /** The value starts like an envelope but is not a well-formed one (version, algorithm, key id, body). */
  | 'SEALED_MALFORMED'
  /** A stored value is plaintext and plaintext passthrough is not enabled. */
  | 'SEALED_PLAINTEXT'
  /** A value cannot be sealed for its column (wrong type, raw SQL function, unsupported value). */
  | 'SEALED_UNSUPPORTED_VALUE'
  /** A value opened, but it was sealed as another type than the column declares (e.g. a string in a `number` column). */
  | 'SEALED_TYPE_MISMATCH'
  /** A sealed value is longer than its column allows. */
  | 'SEALED_VALUE_TOO_LONG'
  /** A blind index value does not match its field's value (verify): written by something else, copied, or normalised otherwise. */
  | 'SEALED_INDEX_MISMATCH'
  /** Two rows hold the same value under a unique blind index (found by the rotator's reindex, which leaves the row as it is). */
  | 'SEALED_DUPLICATE'
  /** A query compares an encrypted column, which can never match random-nonce ciphertext. */
  | 'SEALED_UNSUPPORTED_QUERY'
  /**
   * The library is misconfigured (decorator options, column type, missing subscriber), or the
   * rotator cannot write a row because its primary key does not read back exactly (e.g. a
   * microsecond timestamp the driver rounds to milliseconds).
   */
  | 'SEALED_CONFIG'
  /**
   * The database refused a statement that carries values (the rotator's compare-and-swap). Drivers
   * copy values into their messages, so only the driver's error code is kept, in `driverCode`.
   */
  | 'SEALED_WRITE_FAILED';

/** Where an error happened. Every field is optional; none holds a value or key material. */
export interface SealedErrorContext {
  /** Entity (class) name, e.g. `User`. */
  entity?: string;
  /** Property path of the column, e.g. `email` or `address.street`. */
  column?: string;
  /**
   * Primary key of the row, rendered for display as `id=42` (or `a=1, b=2` for composite keys),
   * with control characters escaped (see {@link printable}).
   */
  primaryKey?: string;
  /** Key id of the envelope or key involved. */
  keyId?: string;
  /**
   * The database's error code when it refused a statement: PostgreSQL's SQLSTATE (`23514`),
   * MySQL/MariaDB's error number (`1644`), SQLite's result code (`SQLITE_CONSTRAINT`).
   */
  driverCode?: string;
}

/**
 * The one error class of this library.
 *
 * @example
 * ```ts
 * try {
 *   await repo.findOneBy({ id: 1 });
 * } catch (e) {
 *   if (e instanceof SealedError && e.code === 'SEALED_WRONG_KEY') {
 *     console.error(`no key ${e.keyId} in the ring for ${e.entity}.${e.column}`);
 *   }
 * }
 * ```
 */
export class SealedError extends Error implements SealedErrorContext {
  readonly code: SealedErrorCode;
  readonly entity?: string;
  readonly column?: string;
  readonly primaryKey?: string;
  readonly keyId?: string;
  readonly driverCode?: string;
  /** The message without the code and context prefix. */
  readonly detail: string;

  constructor(code: SealedErrorCode, detail: string, context: SealedErrorContext = {}) {
    super(`${code}: ${printable(describeContext(context))}${detail}`);
    this.name = 'SealedError';
    this.code = code;
    this.detail = detail;
    if (context.entity !== undefined) this.entity = context.entity;
    if (context.column !== undefined) this.column = context.column;
    if (context.primaryKey !== undefined) this.primaryKey = context.primaryKey;
    if (context.keyId !== undefined) this.keyId = context.keyId;
    if (context.driverCode !== undefined) this.driverCode = context.driverCode;
  }

  /** The same error with more context filled in (fields already set win). */
  withContext(context: SealedErrorContext): SealedError {
    return new SealedError(this.code, this.detail, { ...context, ...definedFields(this) });
  }
}

function definedFields(e: SealedErrorContext): SealedErrorContext {
  const out: SealedErrorContext = {};
  if (e.entity !== undefined) out.entity = e.entity;
  if (e.column !== undefined) out.column = e.column;
  if (e.primaryKey !== undefined) out.primaryKey = e.primaryKey;
  if (e.keyId !== undefined) out.keyId = e.keyId;
  if (e.driverCode !== undefined) out.driverCode = e.driverCode;
  return out;
}

function describeContext(c: SealedErrorContext): string {
  const where = c.entity && c.column ? `${c.entity}.${c.column}` : (c.entity ?? c.column);
  const parts = [
    where,
    c.primaryKey !== undefined ? `(${c.primaryKey})` : undefined,
    c.keyId !== undefined ? `[key ${c.keyId}]` : undefined,
    c.driverCode !== undefined ? `[driver ${c.driverCode}]` : undefined,
  ].filter(Boolean);
  return parts.length ? `${parts.join(' ')}: ` : '';
}

/**
 * DEL, C1 controls, line/paragraph separators, bidirectional marks and overrides, zero-width and
 * invisible characters, the byte order mark: what a terminal or log reader acts on beyond C0.
 */
const INVISIBLE = '\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff';
/** {@link INVISIBLE} characters (JSON.stringify escapes C0 controls but not these). */
export const INVISIBLE_CHARACTERS = new RegExp(`[${INVISIBLE}]`, 'g');
/** C0 controls and {@link INVISIBLE} characters. */
const UNPRINTABLE = new RegExp(`[\\u0000-\\u001f${INVISIBLE}]`, 'g');

/** Whether `error` is a SealedError of this copy of the package or of another (a data source file's own copy): by class, or by name. */
export function isSealedError(error: unknown): error is Error {
  return error instanceof SealedError || (error as { name?: unknown } | null | undefined)?.name === 'SealedError';
}

/**
 * Escapes every character that could move a terminal's cursor, clear a screen, forge a log line or
 * reorder text (`\x1b` becomes `\x1b` written out, `\n` becomes `\n`). Used on everything this
 * library prints or puts in a message that comes from stored data, such as primary keys.
 *
 * @example
 * ```ts
 * printable('id=7\x1b[2J\nOK'); // 'id=7\\x1b[2J\\nOK'
 * ```
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A short word-like text (an option, type or entity name) is quoted; anything else, which could be a key or a value, is not echoed. */
export function quoted(text: unknown): string {
  return typeof text === 'string' && /^[A-Za-z_][A-Za-z0-9 _.-]{0,31}$/.test(text) ? `"${text}"` : 'the given value';
}
