import { INVISIBLE_CHARACTERS, printable } from '../errors';
import type { CensusReport, RotationReport } from '../rotation/report';

/** Left-aligned text table; every cell is made printable (primary keys and names come from stored data). */
export function table(head: string[], rows: string[][]): string {
  const cells = rows.map((r) => r.map(printable));
  const widths = head.map((h, i) => Math.max(printable(h).length, ...cells.map((r) => r[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head.map(printable)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Lines under a heading, each made printable. */
function section(heading: string, lines: readonly string[]): string[] {
  return lines.length ? [heading, ...lines.map((l) => `  ${printable(l)}`)] : [];
}

/** The census as a table: one row per column, one count column per key id (`*` = active). */
export function formatCensus(census: CensusReport): string {
  const keyIds = [...new Set([census.activeKeyId, ...census.columns.flatMap((c) => Object.keys(c.byKeyId))])];
  const head = ['column', 'total', 'null', 'plaintext', ...keyIds.map((id) => (id === census.activeKeyId ? `${id}*` : id)), 'malformed'];
  const rows = census.columns.map((c) => [
    `${c.entity}.${c.column}`,
    String(c.total),
    String(c.nulls),
    String(c.plaintext),
    ...keyIds.map((id) => String(c.byKeyId[id] ?? 0)),
    String(c.malformed),
  ]);
  const unknown = [...new Set(census.columns.flatMap((c) => c.unknownKeyIds))];
  const notes = [`* active key ${census.activeKeyId}`];
  if (unknown.length) notes.push(`key ids not in the ring: ${unknown.join(', ')} (values under them cannot be opened)`);
  const shredded = census.columns.reduce((n, c) => n + c.shredded, 0);
  if (shredded > 0) notes.push(`${shredded} values are under shredded data keys: unreadable for good`);
  return [table(head, rows), '', ...notes, ...indexTable(census), ...section('warnings:', census.warnings)].join('\n');
}

/** The census of blind indexes: fill, index keys (`*` = active) and what each reveals. */
function indexTable(census: CensusReport): string[] {
  if (census.indexes.length === 0) return [];
  const active = census.activeIndexKeyId;
  const keyIds = [...new Set([...(active ? [active] : []), ...census.indexes.flatMap((i) => Object.keys(i.byKeyId))])];
  const head = ['blind index', 'values', 'missing', ...keyIds.map((id) => (id === active ? `${id}*` : id)), 'distinct', 'largest bucket'];
  const rows = census.indexes.map((i) => [
    `${i.entity}.${i.column}`,
    String(i.values),
    String(i.missing),
    ...keyIds.map((id) => String(i.byKeyId[id] ?? 0)),
    String(i.distinct),
    `${i.largestBucket} (${(100 * i.largestBucketShare).toFixed(1)}%)`,
  ]);
  return ['', table(head, rows), '', ...(active ? [`* active index key ${active}`] : [])];
}

/** A walk's report as a table, its warnings, and its failures grouped by column, code and reason. */
export function formatReport(report: RotationReport): string {
  const verify = report.mode === 'verify';
  const head = verify
    ? ['column', 'examined', 'failed', 'plaintext', 'status']
    : ['column', 'examined', report.dryRun ? 'would write' : 'rewritten', 'conflicts', 'failed', report.dryRun ? 'would remain' : 'remaining', 'status'];
  const rows = report.columns.map((c) => {
    const name = `${c.entity}.${c.column}${c.blindIndex ? ' (blind index)' : ''}`;
    return verify
      ? [name, String(c.examined), String(c.failed), String(c.plaintext), c.status]
      : [name, String(c.examined), String(c.rewritten), String(c.conflicts), String(c.failed), String(c.remaining), c.status];
  });
  // Sample primary keys one per line (line breaks in them are escaped), so that a stored key
  // cannot pose as a separator, as more rows or as another line.
  const groups = report.failureGroups.flatMap((g) => [
    `${g.entity}.${g.column}${g.blindIndex ? ' (blind index)' : ''} ${g.code}: ${g.count} row${g.count === 1 ? '' : 's'}: ${g.reason}`,
    ...g.samples.map((key) => `  ${key}`),
    ...(g.count > g.samples.length ? [`  ... and ${g.count - g.samples.length} more`] : []),
  ]);
  return [
    table(head, rows),
    '',
    `${report.mode}${report.dryRun ? ' (dry run, nothing written)' : ''}: ${report.status} in ${(report.durationMs / 1000).toFixed(1)} s, active key ${report.activeKeyId}` +
      (report.activeIndexKeyId ? `, active index key ${report.activeIndexKeyId}` : ''),
    ...section('warnings:', report.warnings),
    ...section('failures:', groups),
  ].join('\n');
}

/**
 * JSON for stdout, with every character a terminal could act on escaped: JSON.stringify already
 * escapes C0 controls; DEL, C1 controls, line separators, bidirectional and invisible characters
 * are escaped here.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(INVISIBLE_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
