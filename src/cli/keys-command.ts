import type { DataSource } from 'typeorm';
import { cipherSubscribersOf, FIELD_CIPHER } from '../cipher/registry';
import { printable, SealedError } from '../errors';
import { KeyRotator } from '../rotation/key-rotator';
import { DATA_KEY_TABLE } from '../vault/data-key-table';
import { isKeyVault, refuseShreddingActive, type DataKeyInfo, type KeyVault, type RewrapReport } from '../vault/key-vault';
import type { CliArgs } from './args';
import { EXIT } from './exit';
import { table, toJson } from './format';
import { progressPrinter, type ProgressStream } from './progress';

/** What `keys shred` prints: what was made unreadable, and when, for an operator to file. */
export interface ErasureReport {
  dryRun: boolean;
  /** The data keys shredded: one, or every key of the scope. */
  keyIds: string[];
  /** `''`: the default scope. */
  scope: string;
  /** When the key was shredded (ISO 8601); undefined in a dry run. */
  shreddedAt?: string;
  /** Which wrapper held it before. */
  wrappedBy?: string;
  /** Values under the key, per encrypted column that holds any, counted just before it was destroyed. */
  columns: { entity: string; column: string; table: string; values: number }[];
  /** The sum of `columns[].values`. */
  values: number;
}

/** Why a `keys` command line cannot run, or undefined. */
export function keysUsageError(args: CliArgs): string | undefined {
  if (!args.keyAction) return 'keys needs an action: list, create, activate, rewrap or shred';
  if (args.keyAction === 'activate' && args.keyId === undefined) return 'keys activate needs the data key id (as keys list prints it)';
  if (args.keyAction === 'shred' && (args.keyId === undefined) === (args.scope === undefined)) {
    return args.keyId === undefined
      ? 'keys shred needs a data key id (as keys list prints it), or --scope <scope> to shred every key of a scope'
      : 'keys shred takes a data key id or --scope <scope>, not both';
  }
  if (args.scope !== undefined && args.keyAction !== 'create' && args.keyAction !== 'shred') return `keys ${args.keyAction} has no --scope`;
  if (args.activate && args.keyAction !== 'create') return `keys ${args.keyAction} has no --activate`;
  if (args.dryRun && (args.keyAction === 'create' || args.keyAction === 'activate' || args.keyAction === 'list'))
    return `keys ${args.keyAction} has no --dry-run`;
  if (args.keyAction === 'shred' && !args.yes && !args.dryRun) {
    return 'keys shred makes every value under the key unreadable for good; pass --yes to confirm (or --dry-run for the report only)';
  }
  return undefined;
}

/** Runs `keys <action>` on an initialized DataSource whose sealedSubscriber has a KeyVault. */
export async function runKeys(args: CliArgs, dataSource: DataSource, io: { stdout: ProgressStream; stderr: ProgressStream }): Promise<number> {
  const vault = vaultOf(dataSource);
  try {
    await vault.load(dataSource);
  } catch (e) {
    // listing and activating keys is how a table that does not load (two active keys) is repaired
    if (!(e instanceof SealedError && e.code === 'SEALED_KEY_STORE' && (args.keyAction === 'list' || args.keyAction === 'activate'))) throw e;
    io.stderr.write(`typeorm-sealed: warning: the key vault does not load: ${e.message}\n`);
  }
  const print = (value: unknown, text: string) => io.stdout.write(`${args.json ? toJson(value) : text}\n`);
  switch (args.keyAction!) {
    case 'list': {
      const keys = await vault.list();
      print({ ...(vault.loaded ? { activeKeyId: vault.activeKeyId } : {}), keys }, formatKeys(keys));
      return EXIT.ok;
    }
    case 'create': {
      const key = await vault.createKey({ activate: args.activate, ...(args.scope !== undefined ? { scope: args.scope } : {}) });
      print(key, `created data key ${key.keyId} (${key.state})${key.state === 'ready' ? nextStep(key.keyId) : ''}`);
      return EXIT.ok;
    }
    case 'activate': {
      const key = await vault.activate(args.keyId!);
      print(key, `data key ${key.keyId} is active; processes seal with it once they reload or restart. Then run "typeorm-sealed rotate".`);
      return EXIT.ok;
    }
    case 'rewrap': {
      const progress = progressPrinter(io.stderr);
      const report = await vault.rewrap({
        dryRun: args.dryRun,
        ...(args.json
          ? {}
          : { onProgress: (p: { done: number; total: number; rate: number }) => progress.update({ entity: DATA_KEY_TABLE, column: 'keys', ...p }) }),
      });
      progress.end();
      print(report, formatRewrap(report));
      return report.failed.length > 0 || report.changedMeanwhile.length > 0 ? EXIT.incomplete : EXIT.ok;
    }
    case 'shred': {
      const report = await shred(dataSource, vault, args.keyId !== undefined ? { keyId: args.keyId } : { scope: args.scope! }, args.dryRun);
      print(report, formatErasure(report));
      return EXIT.ok;
    }
  }
}

/** Counts the values under the key (or every key of the scope) in every encrypted column, then (unless a dry run) shreds it. */
async function shred(dataSource: DataSource, vault: KeyVault, what: { keyId: string } | { scope: string }, dryRun: boolean): Promise<ErasureReport> {
  const all = await vault.list();
  const keys = 'keyId' in what ? all.filter((k) => k.keyId === what.keyId) : all.filter((k) => k.scope === what.scope);
  if (keys.length === 0) {
    throw new SealedError(
      'SEALED_CONFIG',
      'keyId' in what ? `no data key ${what.keyId} in the table` : 'the scope given has no data key (scopes are listed by keys list)',
    );
  }
  if ('keyId' in what) refuseShreddingActive(keys[0]!);
  else if (what.scope === '') throw new SealedError('SEALED_CONFIG', 'the default scope cannot be shredded as a whole: shred its keys one by one');
  const census = await new KeyRotator(dataSource).census();
  const ids = keys.map((k) => k.keyId);
  const columns = census.columns.map((c) => ({
    entity: c.entity,
    column: c.column,
    table: c.table,
    values: ids.reduce((n, id) => n + (c.byKeyId[id] ?? 0), 0),
  }));
  const after = dryRun ? [] : 'keyId' in what ? [await vault.shred(what.keyId)] : await vault.shredScope(what.scope);
  const wrappedBy = [...new Set(keys.map((k) => k.wrappedBy).filter((w): w is string => w !== undefined))];
  return {
    dryRun,
    keyIds: ids,
    scope: keys[0]!.scope,
    ...(after[0]?.shreddedAt ? { shreddedAt: after[0].shreddedAt } : {}),
    ...(wrappedBy.length ? { wrappedBy: wrappedBy.join(', ') } : {}),
    columns,
    values: columns.reduce((n, c) => n + c.values, 0),
  };
}

/** The KeyVault of the DataSource's sealedSubscriber; `SEALED_CONFIG` when it has none. */
function vaultOf(dataSource: DataSource): KeyVault {
  const keys = cipherSubscribersOf(dataSource).map((s) => s[FIELD_CIPHER].keys);
  const vault = keys.find(isKeyVault);
  if (!vault) {
    throw new SealedError(
      'SEALED_CONFIG',
      `keys manages the data keys of a KeyVault, and this DataSource's sealedSubscriber has ${keys.length ? 'a key ring' : 'no sealedSubscriber'}: give it { keys: new KeyVault({ wrapper }) } (README, "Data keys in the database")`,
    );
  }
  return vault;
}

function nextStep(keyId: string): string {
  return `\nRestart (or reload the vault in) every process so all can open its values, then: typeorm-sealed keys activate ${keyId} -d <file>`;
}

function formatKeys(keys: readonly DataKeyInfo[]): string {
  return table(
    ['key id', 'scope', 'state', 'gen', 'created', 'activated', 'shredded', 'wrapped by'],
    keys.map((k) => [
      k.keyId,
      k.scope === '' ? '(default)' : k.scope,
      k.state,
      String(k.generation),
      k.createdAt,
      k.activatedAt ?? '-',
      k.shreddedAt ?? '-',
      k.wrappedBy ?? '-',
    ]),
  );
}

function formatRewrap(report: RewrapReport): string {
  const lines = [
    `rewrap${report.dryRun ? ' (dry run, nothing written)' : ''} to ${printable(report.wrappedBy)}: ${report.rewrapped.length} ${report.dryRun ? 'would be ' : ''}rewrapped, ` +
      `${report.current.length} already current, ${report.shredded.length} shredded, ${report.changedMeanwhile.length} changed meanwhile by another process (run it again), ${report.failed.length} failed`,
    `only the table ${DATA_KEY_TABLE} ${report.dryRun ? 'would change' : 'changed'}: no data row was rewritten`,
  ];
  for (const f of report.failed) lines.push(`  ${f.keyId}: ${printable(f.message)}`);
  return lines.join('\n');
}

function formatErasure(report: ErasureReport): string {
  return [
    `Erasure report${report.dryRun ? ' (dry run: nothing was shredded)' : ''}`,
    `  data key${report.keyIds.length > 1 ? 's' : ' '}      ${report.keyIds.join(', ')}`,
    `  scope          ${report.scope === '' ? '(default)' : printable(report.scope)}`,
    `  shredded at    ${report.shreddedAt ?? '-'}`,
    `  wrapped by     ${report.wrappedBy ?? '-'}`,
    `  values ${report.dryRun ? 'to be ' : ''}made unreadable: ${report.values}`,
    '',
    table(
      ['column', 'table', 'values'],
      report.columns.map((c) => [`${c.entity}.${c.column}`, c.table, String(c.values)]),
    ),
    '',
    `Backups of ${DATA_KEY_TABLE} still hold this key wrapped: rewrap under a new master key and destroy the old`,
    'master key to make those copies unreadable too. Restart or reload every process: one that loaded the key keeps it in memory.',
  ].join('\n');
}
