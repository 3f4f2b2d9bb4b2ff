import type { EntityMetadata } from 'typeorm';
import { SealedError } from '../errors';
import { INTERNAL_QUERY_MARKER } from '../internal-query';
import { sealedColumnsOf } from '../metadata/column-plan';

/** An identifier, quoted in any driver's style ("pg/sqlite", `mysql`, [mssql]) or bare, in named groups `<name>1..4`. */
const ident = (name: string) => String.raw`(?:"(?<${name}1>[^"]+)"|\x60(?<${name}2>[^\x60]+)\x60|\[(?<${name}3>[^\]]+)\]|(?<${name}4>[A-Za-z_][A-Za-z0-9_$]*))`;
/** `alias.column` or `column`. */
const REF = String.raw`(?:${ident('q')}\.)?${ident('c')}`;
const OPERATOR = String.raw`(?<op>=|!=|<>|<=|>=|<|>|(?:NOT\s+)?(?:I?LIKE|IN|BETWEEN)\b)`;
/** Functions that keep a value's identity, so comparing their result is comparing the column. */
const WRAPPER = String.raw`(?:LOWER|UPPER|TRIM|LTRIM|RTRIM|CAST|COALESCE)\s*\(\s*`;
/** A literal that starts with the envelope prefix, kept (shortened) when other literals are blanked. */
const ENVELOPE_LITERAL = "'sealed:'";
const ENVELOPE = String.raw`(?<envelope>${ENVELOPE_LITERAL})?`;
/** `col = x`, `LOWER(col) = x`, `x = col`: every shape of comparison the guard refuses. */
const COMPARISONS = [
  new RegExp(String.raw`${REF}\s*${OPERATOR}\s*${ENVELOPE}`, 'gi'),
  new RegExp(String.raw`${WRAPPER}${REF}[^()]*?\)\s*${OPERATOR}\s*${ENVELOPE}`, 'gi'),
  new RegExp(String.raw`${OPERATOR}\s*(?:${WRAPPER})?${REF}`, 'gi'),
];
const TABLE_REF = new RegExp(String.raw`\b(?:FROM|JOIN|UPDATE|INTO)\s+${ident('a')}(?:\.${ident('b')})?(?:\s+(?:AS\s+)?${ident('alias')})?`, 'gi');
const STRING_LITERAL = /'(?:[^']|'')*'/g;
const NUMBER = /\b\d+\b/g;
/** Distinct harmless SQL shapes remembered per DataSource before the memory starts over. */
const PASSED_CACHE_SIZE = 2000;
const SQL_WORDS = new Set(['WHERE', 'ON', 'AND', 'OR', 'NOT', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'JOIN', 'SET', 'ORDER', 'GROUP', 'LIMIT', 'WITH']);

/** The first defined group among `<name>1..4`. */
const group = (m: RegExpMatchArray, name: string) => [1, 2, 3, 4].map((i) => m.groups?.[`${name}${i}`]).find((g) => g !== undefined);

/**
 * Refuses SQL that compares an encrypted column (`=`, `<>`, `LIKE`, `IN`, `BETWEEN`, ...): such a
 * condition can never match random-nonce ciphertext, so without the guard it silently returns
 * nothing. `IS NULL` / `IS NOT NULL` stay allowed, and so do comparisons with a literal that
 * starts with `sealed:` (`col LIKE 'sealed:1:x:<key id>:%'` counts rows per key). It reads the SQL TypeORM generates (find
 * options, QueryBuilder conditions, update/delete criteria); it is a safety net, not a SQL parser:
 * hand-written SQL it cannot map to a table passes through.
 */
export class WhereGuard {
  /** table name -> column database name -> the encrypted field */
  private readonly tables = new Map<string, Map<string, { entity: string; column: string; indexed: boolean }>>();
  private readonly mentionsSealedColumn: RegExp | undefined;
  /** SQL shapes (numbers replaced) already found harmless: TypeORM repeats them. */
  private readonly passed = new Set<string>();

  constructor(metadatas: readonly EntityMetadata[]) {
    const names = new Set<string>();
    for (const metadata of metadatas) {
      for (const sc of sealedColumnsOf(metadata)) {
        let columns = this.tables.get(metadata.tableName);
        if (!columns) this.tables.set(metadata.tableName, (columns = new Map()));
        columns.set(sc.column.databaseName, { entity: sc.entity, column: sc.path, indexed: sc.index !== undefined });
        names.add(sc.column.databaseName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      }
    }
    this.mentionsSealedColumn = names.size ? new RegExp([...names].join('|')) : undefined;
  }

  /** Throws `SEALED_UNSUPPORTED_QUERY` when `sql` compares an encrypted column. */
  check(sql: string): void {
    // TypeORM inlines primary key values (`"id" = 42`); numbers never decide the verdict.
    const shape = sql.replace(NUMBER, '0');
    if (this.passed.has(shape)) return;
    this.inspect(sql);
    if (this.passed.size >= PASSED_CACHE_SIZE) this.passed.clear();
    this.passed.add(shape);
  }

  private inspect(sql: string): void {
    if (!this.mentionsSealedColumn || sql.endsWith(INTERNAL_QUERY_MARKER)) return;
    const statement = /^\s*(SELECT|UPDATE|DELETE|WITH)\b/i.exec(sql)?.[1]?.toUpperCase();
    if (!statement || !this.mentionsSealedColumn.test(sql)) return;
    const text = sql.replace(STRING_LITERAL, (literal) => (literal.startsWith(ENVELOPE_LITERAL.slice(0, -1)) ? ENVELOPE_LITERAL : "''"));
    const aliases = this.aliasesOf(text);
    const conditions = this.conditionRegion(text, statement);
    if (conditions === undefined) return;
    const soleTable = aliases.size > 0 && new Set(aliases.values()).size === 1 ? [...aliases.values()][0] : undefined;
    for (const comparison of COMPARISONS) {
      for (const m of conditions.matchAll(comparison)) {
        if (m.groups?.envelope !== undefined) continue;
        const qualifier = group(m, 'q');
        const table = qualifier === undefined ? soleTable : aliases.get(qualifier);
        const sealed = table === undefined ? undefined : this.tables.get(table)?.get(group(m, 'c')!);
        if (sealed === undefined) continue;
        const search = `sealedRepository(repository).findOneBy({ ${sealed.column.split('.')[0]!}: ... })`;
        const way = !sealed.indexed
          ? 'Give it a blind index to search it (@Encrypted({ index: true })), or load the rows and filter in code'
          : statement === 'UPDATE' || statement === 'DELETE'
            ? `Find the rows through its blind index first (${search}), then ${statement.toLowerCase()} them by primary key`
            : `Search it through its blind index: ${search}, or sealedWhere(...) in a QueryBuilder`;
        throw new SealedError(
          'SEALED_UNSUPPORTED_QUERY',
          `a "${m.groups!.op!.replace(/\s+/g, ' ').toUpperCase()}" condition on an encrypted column can never match: values are sealed with random nonces. ` +
            `${way} (IS NULL / IS NOT NULL work)`,
          { entity: sealed.entity, column: sealed.column },
        );
      }
    }
  }

  /** alias (or bare table name) -> table name, for the tables this library knows. */
  private aliasesOf(sql: string): Map<string, string> {
    const aliases = new Map<string, string>();
    for (const m of sql.matchAll(TABLE_REF)) {
      const table = group(m, 'b') ?? group(m, 'a')!; // schema.table -> table
      const alias = group(m, 'alias');
      aliases.set(alias === undefined || SQL_WORDS.has(alias.toUpperCase()) ? table : alias, table);
      aliases.set(table, table);
    }
    return aliases;
  }

  /** The part of the statement that holds conditions: after FROM for SELECT, after WHERE otherwise. */
  private conditionRegion(sql: string, statement: string): string | undefined {
    const at = statement === 'SELECT' || statement === 'WITH' ? sql.search(/\bFROM\b/i) : sql.search(/\bWHERE\b/i);
    return at < 0 ? undefined : sql.slice(at);
  }
}
