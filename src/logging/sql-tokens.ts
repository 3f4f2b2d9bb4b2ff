import type { SqlLexicon } from '../compat/dialect';

/**
 * What a token is: a bare `word` (keyword or identifier), a `quoted` identifier, a `string` or
 * `number` literal, a bind `parameter`, an `operator`, a parenthesis, a comma, a dot, or `other`
 * punctuation.
 */
export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'parameter' | 'operator' | 'open' | 'close' | 'comma' | 'dot' | 'other';

/** One token of a statement. Comments and white space are dropped. */
export interface Token {
  readonly kind: TokenKind;
  /** Words in upper case; identifiers without their quotes; operators and punctuation as written; literals as ''. */
  readonly text: string;
  /** The bind parameter (0-based) a `parameter` token stands for. */
  readonly parameter?: number;
}

/** Operators of more than one character, longest first. */
const LONG_OPERATORS = ['<=>', '->>', '!~*', '<>', '!=', '<=', '>=', '||', '::', '->', '@>', '<@', '&&', '~*', '!~', '<<', '>>'];
const OPERATOR_CHARACTERS = '=<>!~@&|^+-*/%:#?';
const SPACE = /\s/;
const WORD_START = /[\p{L}_]/u;
// sticky: each reads at its lastIndex, without copying the rest of the statement
const WORD = /[\p{L}_][\p{L}\p{N}_$]*/uy;
const DIGITS = /[0-9]*/y;
const NUMBER = /(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;
const DOLLAR_TAG = /\$(?:[\p{L}_][\p{L}\p{N}_]*)?\$/uy;

/** The text a sticky expression matches at `at` ('' when none). */
function stickyAt(pattern: RegExp, sql: string, at: number): string {
  pattern.lastIndex = at;
  return pattern.exec(sql)?.[0] ?? '';
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/**
 * Splits a statement into tokens, reading it as the database of `lexicon` does: comments
 * (`--`, `/* *\/`, nested on PostgreSQL, `#` on MySQL), string literals (doubled quotes; backslash
 * escapes on MySQL and in PostgreSQL's `E'...'`; PostgreSQL's `$tag$...$tag$`), quoted identifiers
 * (`"..."`, `` `...` ``, SQLite's `[...]`) and placeholders (`$n` on PostgreSQL, `?` elsewhere,
 * `?NNN` on SQLite, `??` on MySQL), each numbered as the driver binds it.
 *
 * @example
 * ```ts
 * tokenize('SELECT * FROM "user" WHERE email = $1', 'postgres').at(-1); // { kind: 'parameter', text: '$1', parameter: 0 }
 * ```
 */
export function tokenize(sql: string, lexicon: SqlLexicon): Token[] {
  const tokens: Token[] = [];
  /** The next anonymous `?`: one past the highest number bound so far (SQLite's rule; MySQL numbers them in order). */
  let nextParameter = 0;
  let i = 0;
  const push = (kind: TokenKind, text: string, end: number, parameter?: number) => {
    tokens.push(parameter === undefined ? { kind, text } : { kind, text, parameter });
    if (parameter !== undefined) nextParameter = Math.max(nextParameter, parameter + 1);
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (SPACE.test(c)) i++;
    else if ((c === '-' && next === '-') || (c === '#' && lexicon === 'mysql')) i = lineEnd(sql, i);
    else if (c === '/' && next === '*') i = commentEnd(sql, i, lexicon === 'postgres');
    else if (c === "'") push('string', '', quotedEnd(sql, i, "'", lexicon === 'mysql'));
    else if (c === '"') push('quoted', ...quotedIdentifier(sql, i, '"', lexicon === 'mysql'));
    else if (c === '`') push('quoted', ...quotedIdentifier(sql, i, '`', false));
    else if (c === '[' && lexicon === 'sqlite') push('quoted', sql.slice(i + 1, bracketEnd(sql, i) - 1), bracketEnd(sql, i));
    else if (c === '$' && lexicon === 'postgres' && isDigit(next)) {
      const digits = stickyAt(DIGITS, sql, i + 1);
      push('parameter', `$${digits}`, i + 1 + digits.length, Number(digits) - 1);
    } else if (c === '$' && lexicon === 'postgres' && stickyAt(DOLLAR_TAG, sql, i)) push('string', '', dollarQuotedEnd(sql, i));
    else if (c === '?' && lexicon !== 'postgres') {
      const digits = lexicon === 'sqlite' ? stickyAt(DIGITS, sql, i + 1) : '';
      const width = digits ? 1 + digits.length : lexicon === 'mysql' && next === '?' ? 2 : 1;
      push('parameter', sql.slice(i, i + width), i + width, digits ? Number(digits) - 1 : nextParameter);
    } else if ((c === 'E' || c === 'e') && next === "'" && lexicon === 'postgres') push('string', '', quotedEnd(sql, i + 1, "'", true));
    else if (isDigit(c) || (c === '.' && isDigit(next))) push('number', '', i + stickyAt(NUMBER, sql, i).length);
    else if (WORD_START.test(c)) {
      const word = stickyAt(WORD, sql, i);
      push('word', word.toUpperCase(), i + word.length);
    } else if (c === '(') push('open', c, i + 1);
    else if (c === ')') push('close', c, i + 1);
    else if (c === ',') push('comma', c, i + 1);
    else if (c === '.') push('dot', c, i + 1);
    else if (OPERATOR_CHARACTERS.includes(c)) {
      const long = LONG_OPERATORS.find((op) => sql.startsWith(op, i));
      push('operator', long ?? c, i + (long ?? c).length);
    } else push('other', c, i + 1);
  }
  return tokens;
}

function lineEnd(sql: string, from: number): number {
  const end = sql.indexOf('\n', from);
  return end < 0 ? sql.length : end + 1;
}

/** Past the `*\/` that closes the comment opened at `from` (PostgreSQL nests them). */
function commentEnd(sql: string, from: number, nested: boolean): number {
  let depth = 0;
  for (let i = from; i < sql.length; i++) {
    if (sql.startsWith('/*', i) && (nested || depth === 0)) {
      depth++;
      i++;
    } else if (sql.startsWith('*/', i)) {
      if (--depth === 0) return i + 2;
      i++;
    }
  }
  return sql.length;
}

/** Past the quote closing the text opened at `from`: a doubled quote stands for itself, and so does a backslash-escaped one where `backslashes`. */
function quotedEnd(sql: string, from: number, quote: string, backslashes: boolean): number {
  for (let i = from + 1; i < sql.length; i++) {
    if (backslashes && sql[i] === '\\') i++;
    else if (sql[i] === quote) {
      if (sql[i + 1] !== quote) return i + 1;
      i++;
    }
  }
  return sql.length;
}

/** A quoted identifier's name and end. */
function quotedIdentifier(sql: string, from: number, quote: string, backslashes: boolean): [string, number] {
  const end = quotedEnd(sql, from, quote, backslashes);
  return [sql.slice(from + 1, end - 1).replaceAll(quote + quote, quote), end];
}

function bracketEnd(sql: string, from: number): number {
  const end = sql.indexOf(']', from);
  return end < 0 ? sql.length : end + 1;
}

function dollarQuotedEnd(sql: string, from: number): number {
  const tag = stickyAt(DOLLAR_TAG, sql, from);
  const end = sql.indexOf(tag, from + tag.length);
  return end < 0 ? sql.length : end + tag.length;
}
