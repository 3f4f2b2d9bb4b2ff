import type { CensusReport, RotationReport } from '../rotation/report';

/** Left-aligned text table. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
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
  return `${table(head, rows)}\n\n${notes.join('\n')}`;
}

/** A walk's report as a table plus its failures. */
export function formatReport(report: RotationReport): string {
  const verify = report.mode === 'verify';
  const head = verify
    ? ['column', 'examined', 'failed', 'plaintext', 'status']
    : ['column', 'examined', report.dryRun ? 'would write' : 'rewritten', 'conflicts', 'failed', 'remaining', 'status'];
  const rows = report.columns.map((c) =>
    verify
      ? [`${c.entity}.${c.column}`, String(c.examined), String(c.failed), String(c.plaintext), c.status]
      : [`${c.entity}.${c.column}`, String(c.examined), String(c.rewritten), String(c.conflicts), String(c.failed), String(c.remaining), c.status],
  );
  const failures = report.failures.map((f) => `  ${f.message}`);
  return [
    table(head, rows),
    '',
    `${report.mode}${report.dryRun ? ' (dry run, nothing written)' : ''}: ${report.status} in ${(report.durationMs / 1000).toFixed(1)} s, active key ${report.activeKeyId}`,
    ...(failures.length ? ['failures:', ...failures] : []),
  ].join('\n');
}
