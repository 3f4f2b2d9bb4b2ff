import type { Token } from './sql-tokens';

/** A column named in a statement: `qualifier.column` (an alias or table name), or a bare `column`. Names in lower case. */
export interface ColumnRef {
  readonly qualifier?: string;
  readonly column: string;
}

/**
 * What one placeholder's value meets in its statement: the `columns` it is compared with, assigned
 * to or inserted into; `none` (a `LIMIT` or `OFFSET`); or `unknown`, a place this reading does
 * not recognise.
 */
export type Binding = { readonly columns: readonly ColumnRef[] } | 'none' | 'unknown';

/** The tables a statement names (`FROM`, `JOIN`, `UPDATE`, `INTO`, `USING`), and what each alias stands for. Names in lower case. */
export interface TableScope {
  readonly tables: ReadonlySet<string>;
  /** Alias (or table name) to the tables it names, in any part of the statement. */
  readonly aliases: ReadonlyMap<string, ReadonlySet<string>>;
}

/** What a statement binds: each parameter's bindings, one per placeholder that stands for it. */
export interface StatementBindings {
  readonly scope: TableScope;
  readonly parameters: ReadonlyMap<number, readonly Binding[]>;
}

const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '<=>', '~', '~*', '!~', '!~*', '@>', '<@', '&&']);
/** Operators that join the terms of one operand: `a || ?`, `x + ?`, `?::text`, `doc->>'k'`. */
const JOINING = new Set(['+', '-', '*', '/', '%', '||', '::', '->', '->>', '&', '|', '^', '<<', '>>', '#']);
const PATTERN_WORDS = new Set(['LIKE', 'ILIKE', 'GLOB', 'REGEXP', 'RLIKE']);
/** Words that end an operand on its left (and where a comparison's left side starts). */
const LEFT_BOUNDARIES = new Set(['WHERE', 'AND', 'OR', 'NOT', 'ON', 'SET', 'UPDATE', 'WHEN', 'THEN', 'ELSE', 'HAVING', 'SELECT', 'RETURNING', 'BY', 'CASE']);
/** Words that end an operand on its right. */
const RIGHT_BOUNDARIES = new Set([
  'AND',
  'OR',
  'THEN',
  'ELSE',
  'END',
  'WHEN',
  'ORDER',
  'GROUP',
  'LIMIT',
  'OFFSET',
  'RETURNING',
  'WHERE',
  'HAVING',
  'ON',
  'AS',
  'FROM',
]);
/** Words that are never a column, nor a function whose call is an operand. */
const RESERVED = new Set([
  ...LEFT_BOUNDARIES,
  ...RIGHT_BOUNDARIES,
  ...PATTERN_WORDS,
  'NULL',
  'TRUE',
  'FALSE',
  'IN',
  'IS',
  'BETWEEN',
  'VALUES',
  'INTO',
  'UPDATE',
  'DELETE',
  'INSERT',
  'JOIN',
  'DISTINCT',
  'EXISTS',
  'UNION',
  'DEFAULT',
  'USING',
  'WITH',
]);
const TABLE_KEYWORDS = new Set(['FROM', 'JOIN', 'UPDATE', 'INTO', 'USING']);
/** Words after a table name that are not its alias. */
const NOT_ALIASES = new Set([
  ...RESERVED,
  'INNER',
  'LEFT',
  'RIGHT',
  'FULL',
  'CROSS',
  'NATURAL',
  'OUTER',
  'LATERAL',
  'WINDOW',
  'FOR',
  'FETCH',
  'EXCEPT',
  'INTERSECT',
  'IGNORE',
  'OUTPUT',
]);

/**
 * Reads which columns each placeholder of a statement binds to, from the SQL around it: a
 * comparison (`col = ?`, `? = col`, `LOWER(t.col) LIKE LOWER(?)`, `col BETWEEN ? AND ?`,
 * `col IN (?, ?)`, `col = ANY($1)`), an assignment (`SET col = ?`), or a position in an
 * `INSERT INTO t (a, b) VALUES (?, ?)` tuple. Operands spanning several columns bind to each of
 * them. A placeholder in any other place is `unknown`: callers treat it as sensitive wherever the
 * statement may concern one.
 *
 * @example
 * ```ts
 * const { parameters } = bindingsOf(tokenize('UPDATE "user" SET "email" = $1 WHERE "id" = $2', 'postgres'));
 * parameters.get(0); // [{ columns: [{ column: 'email' }] }]
 * ```
 */
export function bindingsOf(tokens: readonly Token[]): StatementBindings {
  const statement = new Statement(tokens);
  const parameters = new Map<number, Binding[]>();
  tokens.forEach((token, at) => {
    if (token.parameter === undefined) return;
    let list = parameters.get(token.parameter);
    if (!list) parameters.set(token.parameter, (list = []));
    list.push(statement.bindingAt(at));
  });
  return { scope: statement.scope(), parameters };
}

/** A statement's tokens, with each parenthesis's partner. */
class Statement {
  /** For each parenthesis, the index of its partner (-1 when unbalanced); -1 for other tokens. */
  private readonly partner: Int32Array;
  /** For each token, the index of the innermost open parenthesis around it (-1 at the top). */
  private readonly enclosing: Int32Array;
  /** Tuple (its open parenthesis) -> the `VALUES` keyword of its list, or -1: {@link valuesKeywordOf}'s memory. */
  private readonly valuesOf = new Map<number, number>();

  constructor(private readonly tokens: readonly Token[]) {
    this.partner = new Int32Array(tokens.length).fill(-1);
    this.enclosing = new Int32Array(tokens.length).fill(-1);
    const open: number[] = [];
    tokens.forEach((token, i) => {
      if (token.kind === 'close') {
        const o = open.pop();
        if (o !== undefined) [this.partner[o], this.partner[i]] = [i, o];
      }
      this.enclosing[i] = open.at(-1) ?? -1;
      if (token.kind === 'open') open.push(i);
    });
  }

  bindingAt(at: number): Binding {
    let [start, end] = this.widened(at, at);
    for (;;) {
      const before = this.comparisonEndingAt(start - 1);
      if (before >= 0) return this.bindsTo(this.operandEndingAt(before - 1), [start, end]);
      const between = this.betweenBefore(start);
      if (between >= 0) return this.bindsTo(this.operandEndingAt(between - 1), [start, end]);
      if (this.isWord(start - 1, 'LIMIT') || this.isWord(start - 1, 'OFFSET')) return 'none';
      const after = this.comparisonStartingAt(end + 1);
      if (after >= 0) return this.bindsTo(this.operandStartingAt(after + 1), [start, end]);
      // the operand is one element of a parenthesised group
      const open = this.enclosing[start]!;
      const close = open < 0 ? -1 : this.partner[open]!;
      if (close < 0 || !this.isElementEdge(start - 1, 'open') || !this.isElementEdge(end + 1, 'close')) return 'unknown';
      if (this.isWord(open - 1, 'IN')) return this.bindsTo(this.operandEndingAt(this.isWord(open - 2, 'NOT') ? open - 3 : open - 2), [start, end]);
      const values = this.valuesKeywordOf(open);
      if (values >= 0) return this.insertedColumn(values, this.elementIndex(open, start));
      [start, end] = this.widened(this.isFunctionName(open - 1) ? this.nameStart(open - 1) : open, close);
    }
  }

  /** Every table the statement names, and its aliases. */
  scope(): TableScope {
    const tables = new Set<string>();
    const aliases = new Map<string, Set<string>>();
    const note = (alias: string, table: string) => {
      let set = aliases.get(alias);
      if (!set) aliases.set(alias, (set = new Set()));
      set.add(table);
    };
    this.tokens.forEach((token, i) => {
      if (token.kind !== 'word' || !TABLE_KEYWORDS.has(token.text)) return;
      // `FROM a x, b y`: a list of tables after FROM
      for (let at = this.isWord(i + 1, 'ONLY') ? i + 2 : i + 1; this.isName(at);) {
        const end = this.nameEnd(at);
        const table = this.lower(end);
        tables.add(table);
        note(table, table);
        let next = end + 1;
        if (this.isWord(next, 'AS')) next++;
        if (this.isName(next) && !(this.tokens[next]!.kind === 'word' && NOT_ALIASES.has(this.tokens[next]!.text))) note(this.lower(next++), table);
        if (token.text !== 'FROM' || this.tokens[next]?.kind !== 'comma') break;
        at = next + 1;
      }
    });
    return { tables, aliases };
  }

  /** A binding to the columns named in `operand` (and in the placeholder's own operand, `span`), or `unknown` when there is no operand or it names none. */
  private bindsTo(operand: readonly [number, number] | undefined, span: readonly [number, number]): Binding {
    if (!operand) return 'unknown';
    const columns = [...this.columnsIn(operand), ...this.columnsIn(span)];
    return columns.length ? { columns } : 'unknown';
  }

  /** The span grown over the operators that join it to neighbouring terms (`x || ?`, `?::text`). */
  private widened(start: number, end: number): [number, number] {
    for (;;) {
      const left = this.isJoining(start - 1) ? this.termStartingBefore(start - 2) : -1;
      const right = this.isJoining(end + 1) ? this.termEndingAfter(end + 2) : -1;
      if (left < 0 && right < 0) return [start, end];
      if (left >= 0) start = left;
      if (right >= 0) end = right;
    }
  }

  /** The first token of a comparison operator whose last token is `at`, or -1. */
  private comparisonEndingAt(at: number): number {
    const token = this.tokens[at];
    if (token?.kind === 'operator') return COMPARISONS.has(token.text) ? at : -1;
    if (token?.kind !== 'word') return -1;
    if (PATTERN_WORDS.has(token.text)) return this.isWord(at - 1, 'NOT') ? at - 1 : at;
    if (token.text === 'IS') return at;
    if (token.text === 'NOT' && this.isWord(at - 1, 'IS')) return at - 1;
    if (token.text === 'TO' && this.isWord(at - 1, 'SIMILAR')) return this.isWord(at - 2, 'NOT') ? at - 2 : at - 1;
    if (token.text === 'FROM' && this.isWord(at - 1, 'DISTINCT')) {
      const is = this.isWord(at - 2, 'NOT') ? at - 3 : at - 2;
      return this.isWord(is, 'IS') ? is : -1;
    }
    return -1;
  }

  /** The last token of a comparison operator whose first token is `at`, or -1. */
  private comparisonStartingAt(at: number): number {
    const token = this.tokens[at];
    if (token?.kind === 'operator') return COMPARISONS.has(token.text) ? at : -1;
    if (token?.kind !== 'word') return -1;
    const not = token.text === 'NOT' ? 1 : 0;
    const word = this.tokens[at + not]?.kind === 'word' ? this.tokens[at + not]!.text : '';
    if (PATTERN_WORDS.has(word)) return at + not;
    if (word === 'SIMILAR') return this.isWord(at + not + 1, 'TO') ? at + not + 1 : -1;
    if (not || token.text !== 'IS') return -1;
    const afterIs = this.isWord(at + 1, 'NOT') ? at + 2 : at + 1;
    if (this.isWord(afterIs, 'DISTINCT')) return this.isWord(afterIs + 1, 'FROM') ? afterIs + 1 : -1;
    return afterIs - 1;
  }

  /** For the second value of `x BETWEEN ? AND ?` (or the first), the first token of `[NOT] BETWEEN`, else -1. */
  private betweenBefore(start: number): number {
    let at = start - 1;
    if (this.isWord(at, 'AND')) {
      const first = this.operandStart(at - 1);
      if (first < 0) return -1;
      at = first - 1;
    }
    if (!this.isWord(at, 'BETWEEN')) return -1;
    return this.isWord(at - 1, 'NOT') ? at - 1 : at;
  }

  /** The operand that ends at `end`: terms joined by operators, which starts after a boundary (a keyword, `(`, `,`, the start); undefined otherwise. */
  private operandEndingAt(end: number): [number, number] | undefined {
    const start = this.operandStart(end);
    if (start < 0) return undefined;
    const before = this.tokens[start - 1];
    const bounded = !before || before.kind === 'open' || before.kind === 'comma' || (before.kind === 'word' && LEFT_BOUNDARIES.has(before.text));
    return bounded ? [start, end] : undefined;
  }

  /** The first token of the terms joined by operators that end at `end`, or -1. */
  private operandStart(end: number): number {
    let start = this.termStartingBefore(end);
    while (start >= 0 && this.isJoining(start - 1)) start = this.termStartingBefore(start - 2);
    return start;
  }

  /** The operand that starts at `start`, which ends before a boundary (a keyword, `)`, `,`, `;`, the end); undefined otherwise. */
  private operandStartingAt(start: number): [number, number] | undefined {
    let end = this.termEndingAfter(start);
    while (end >= 0 && this.isJoining(end + 1)) end = this.termEndingAfter(end + 2);
    if (end < 0) return undefined;
    const after = this.tokens[end + 1];
    const bounded =
      !after || after.kind === 'close' || after.kind === 'comma' || after.text === ';' || (after.kind === 'word' && RIGHT_BOUNDARIES.has(after.text));
    return bounded ? [start, end] : undefined;
  }

  /** The first token of the term that ends at `end` (a name, a literal, a placeholder, a call or a parenthesised group), or -1. */
  private termStartingBefore(end: number): number {
    const token = this.tokens[end];
    if (!token) return -1;
    if (token.kind === 'close') {
      const open = this.partner[end]!;
      if (open < 0) return -1;
      return this.isFunctionName(open - 1) ? this.nameStart(open - 1) : open;
    }
    if (this.isName(end)) return this.nameStart(end);
    return token.kind === 'string' || token.kind === 'number' || token.kind === 'parameter' ? end : -1;
  }

  /** The last token of the term that starts at `start`, or -1. */
  private termEndingAfter(start: number): number {
    const token = this.tokens[start];
    if (!token) return -1;
    if (token.kind === 'open') return this.partner[start]!;
    if (this.isName(start)) {
      const end = this.nameEnd(start);
      return this.tokens[end + 1]?.kind === 'open' ? this.partner[end + 1]! : end;
    }
    return token.kind === 'string' || token.kind === 'number' || token.kind === 'parameter' ? start : -1;
  }

  /** The column of `INSERT INTO t (a, b, ...) VALUES (...)` at `position`; `unknown` without a column list. */
  private insertedColumn(values: number, position: number): Binding {
    const listClose = values - 1;
    const listOpen = this.tokens[listClose]?.kind === 'close' ? this.partner[listClose]! : -1;
    if (listOpen < 1 || !this.isName(listOpen - 1)) return 'unknown';
    const columns = this.elementsOf(listOpen);
    const column = columns[position];
    if (column === undefined || column[0] !== column[1] || !this.isName(column[0])) return 'unknown';
    return { columns: [{ qualifier: this.lower(listOpen - 1), column: this.lower(column[0]) }] };
  }

  /**
   * The `VALUES` keyword of the tuple list whose tuple opens at `open`, or -1. Remembered for each
   * tuple walked over, so a bulk INSERT's thousands of tuples are walked once, not once per value.
   */
  private valuesKeywordOf(open: number): number {
    const walked: number[] = [];
    let at = open;
    let found: number | undefined;
    while ((found = this.valuesOf.get(at)) === undefined) {
      walked.push(at);
      const close = at - 2;
      if (this.tokens[at - 1]?.kind !== 'comma' || this.tokens[close]?.kind !== 'close' || this.partner[close]! < 0) {
        found = this.isWord(at - 1, 'VALUES') ? at - 1 : -1;
        break;
      }
      at = this.partner[close]!;
    }
    for (const tuple of walked) this.valuesOf.set(tuple, found);
    return found;
  }

  /** The elements (first and last token) of the group opened at `open`, split at its own commas. */
  private elementsOf(open: number): [number, number][] {
    const close = this.partner[open]!;
    const out: [number, number][] = [];
    let from = open + 1;
    for (let i = open + 1; i <= close; i++) {
      if (i === close || (this.tokens[i]!.kind === 'comma' && this.enclosing[i] === open)) {
        out.push([from, i - 1]);
        from = i + 1;
      }
    }
    return out;
  }

  /** Which element of the group opened at `open` the token at `at` is in. */
  private elementIndex(open: number, at: number): number {
    let index = 0;
    for (let i = open + 1; i < at; i++) if (this.tokens[i]!.kind === 'comma' && this.enclosing[i] === open) index++;
    return index;
  }

  /** The columns named in a span: each name chain not called as a function, by its last two names. */
  private columnsIn([start, end]: readonly [number, number]): ColumnRef[] {
    const out: ColumnRef[] = [];
    for (let i = start; i <= end; i++) {
      if (!this.isName(i) || this.tokens[i - 1]?.kind === 'dot') continue;
      const last = this.nameEnd(i);
      i = last;
      if (this.tokens[last + 1]?.kind === 'open') continue;
      const qualifier = last >= start + 2 && this.tokens[last - 1]?.kind === 'dot' ? this.lower(last - 2) : undefined;
      out.push(qualifier === undefined ? { column: this.lower(last) } : { qualifier, column: this.lower(last) });
    }
    return out;
  }

  /** Whether the token at `at` ends an element on the side given: the group's own parenthesis, or a comma. */
  private isElementEdge(at: number, side: 'open' | 'close'): boolean {
    const kind = this.tokens[at]?.kind;
    return kind === side || kind === 'comma';
  }

  private isJoining(at: number): boolean {
    const token = this.tokens[at];
    return token?.kind === 'operator' && JOINING.has(token.text);
  }

  /** A name that calls a function (`LOWER(`, `ANY(`, `schema.fn(`), not a keyword before a group (`IN (`, `VALUES (`). */
  private isFunctionName(at: number): boolean {
    return this.isName(at) && this.tokens[at + 1]?.kind === 'open';
  }

  /** An identifier: quoted, or a bare word that is not reserved. */
  private isName(at: number): boolean {
    const token = this.tokens[at];
    return token?.kind === 'quoted' || (token?.kind === 'word' && !RESERVED.has(token.text));
  }

  private isWord(at: number, word: string): boolean {
    const token = this.tokens[at];
    return token?.kind === 'word' && token.text === word;
  }

  /** The first name of the chain `a.b.c` whose last name is at `at`. */
  private nameStart(at: number): number {
    while (this.tokens[at - 1]?.kind === 'dot' && this.isName(at - 2)) at -= 2;
    return at;
  }

  /** The last name of the chain `a.b.c` whose first name is at `at`. */
  private nameEnd(at: number): number {
    while (this.tokens[at + 1]?.kind === 'dot' && this.isName(at + 2)) at += 2;
    return at;
  }

  private lower(at: number): string {
    return this.tokens[at]!.text.toLowerCase();
  }
}
