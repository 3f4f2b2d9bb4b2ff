import { anyOf } from './any-of';
import { MASK } from './parameter-mask';

/** Properties of a driver's error that name things (codes, tables, constraints), never values; copied as they are. */
const NAMING_FIELDS = ['code', 'errno', 'sqlState', 'severity', 'schema', 'table', 'column', 'constraint'] as const;
/** Properties that may quote values (PostgreSQL's `Key (email)=(...) already exists.`); copied with masked values taken out. */
const QUOTING_FIELDS = ['detail', 'hint'] as const;
/** A quoted excerpt in a message: `'...'`, `"..."` or `(...)`, the way drivers quote values. */
const EXCERPT = /'([^']*)'|"([^"]*)"|\(([^()]*)\)/g;
/** How MariaDB marks an excerpt it cut short. */
const CUT = /\.\.\.$/;
/** The shortest cut excerpt looked for: drivers cut quoted values at 64 characters or more, and whole values are replaced as such. */
const SHORTEST_CUT = 16;
/**
 * Stored values a message can quote that were no parameter of the statement: an envelope (whole
 * or cut short) and a blind index value (`<key id>:<hex>`), wherever they stand.
 */
const STORED_VALUE = /sealed:[^\s,)'"]*|\b[0-9a-f]{8}:[0-9a-f]{2,}\b/g;
/** PostgreSQL's `Failing row contains (...)` (check and not-null violations) quotes the whole row, each field cut at 64 bytes: never shown. */
const FAILING_ROW = /(Failing row contains )\(.*\)/gs;

/**
 * A copy of a failed statement's error for the log, without the values the log must not show: the
 * same `name`; the message, `detail` and `hint` with every occurrence of a masked value's text
 * replaced (as a whole word: `7` is taken out of `id 7`, not out of `IDX_17`), and every quoted
 * excerpt of 16 characters or more that a masked value starts with (MySQL/MariaDB cut long values
 * short: `Duplicate entry 'abc...'`); every envelope and blind index value quoted anywhere (a
 * stored value the statement did not bind); PostgreSQL's failing row (`Failing row contains
 * (...)`, every field of the row) as a whole; the naming fields (`code`, `errno`, `sqlState`, `severity`,
 * `schema`, `table`, `column`, `constraint`) as they are; and the stack frames. Every other
 * property is left out: mysql2's `sql`, for one, holds the statement with its values written in.
 * A string is cleaned the same way.
 *
 * @example
 * ```ts
 * String(redactedError(new Error("Duplicate entry 'a@example.com' for key 'IDX_email'"), ['a@example.com']));
 * // "Error: Duplicate entry '[redacted]' for key 'IDX_email'"
 * ```
 */
export function redactedError(error: unknown, masked: readonly unknown[]): string | Error {
  const texts = [...new Set(masked.flatMap(textsOf))].filter((t) => t.length > 0);
  const clean = (text: string) => withoutValues(text, texts);
  if (!(error instanceof Error)) return clean(String(error));
  const copy = new Error(clean(error.message));
  copy.name = error.name;
  const source = error as unknown as Record<string, unknown>;
  const target = copy as unknown as Record<string, unknown>;
  for (const field of NAMING_FIELDS) if (typeof source[field] === 'string' || typeof source[field] === 'number') target[field] = source[field];
  for (const field of QUOTING_FIELDS) if (typeof source[field] === 'string') target[field] = clean(source[field]);
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  copy.stack = [`${copy.name}: ${copy.message}`, ...frames].join('\n');
  return copy;
}

function withoutValues(text: string, texts: readonly string[]): string {
  const present = texts.filter((value) => text.includes(value));
  // one pass, longest first, so a short value never cuts into the mask written for a longer one;
  // whole words only, so a short value (`1`, `a`) does not take letters out of the message's own words
  const out = (present.length ? text.replace(anyOf(present, 'g', 'word'), MASK) : text).replace(FAILING_ROW, `$1(${MASK})`).replace(STORED_VALUE, MASK);
  return out.replace(EXCERPT, (whole, ...groups: (string | undefined)[]) => {
    const inside = groups.slice(0, 3).find((g) => g !== undefined)!;
    const start = inside.replace(CUT, '');
    return start.length >= SHORTEST_CUT && texts.some((value) => value.startsWith(start)) ? whole.replace(inside, MASK) : whole;
  });
}

/** The texts a driver may write a value as. */
function textsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return [String(value)];
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? [] : [value.toISOString()];
  if (value instanceof Uint8Array) return [Buffer.from(value).toString('utf8'), Buffer.from(value).toString('hex')];
  if (Array.isArray(value)) return value.flatMap(textsOf);
  return typeof value === 'object' && value !== null ? jsonOf(value) : [];
}

/** An object as JSON (how drivers send one), bigints as text; none for what JSON cannot write (a circular object), which no driver sent as JSON either. */
function jsonOf(value: object): string[] {
  try {
    return [JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? String(v) : v))];
  } catch {
    return [];
  }
}
