import type { DataSource, EntityTarget, ObjectLiteral, QueryRunner } from 'typeorm';
import { FieldCipher } from '../cipher/field-cipher';
import { fieldCipherOf } from '../cipher/registry';
import { dataSourceOf } from '../compat/typeorm';
import { printable, SealedError } from '../errors';
import { requireKeyRing, separateIndexKeys, type KeyRing } from '../keys/key-ring';
import { freshVault, requireKeys, type KeyVault } from '../vault/key-vault';
import { sealedColumnsOf } from '../metadata/column-plan';
import { censusOf, emptiedWarning, indexCensusOf, indexWarning, lackingKeyIds } from './column-census';
import { columnTypesOf, holdsEnvelopes } from './column-type';
import { ColumnWalk } from './column-walk';
import { FailureTally } from './failure-tally';
import type { CensusReport, ColumnCensus, IndexCensus, RotationMode, RotationProgress, RotationReport, WalkStatus } from './report';
import { retrying } from '../compat/dialect';
import { ColumnSql } from './sql';

/** Options of {@link KeyRotator}. */
export interface KeyRotatorOptions {
  /** The key ring or key vault (loaded here if it is not yet). Default: the keys of the `sealedSubscriber` registered on the DataSource. */
  keys?: KeyRing | KeyVault;
  /**
   * The blind index key ring. Default: the `indexKeys` of the DataSource's `sealedSubscriber`
   * (also when `keys` is given); none when it has none (then `reindex` and the index checks refuse
   * to run). Without `keys`, the subscriber's keys are used with it.
   */
  indexKeys?: KeyRing;
  /** Rows per batch; each batch is one transaction. Default: `500`. */
  batchSize?: number;
  /** Entities to walk. Default: every entity with an encrypted column. */
  entities?: EntityTarget<ObjectLiteral>[];
  /** Read and check everything, write nothing; the report counts what would be written. Default: `false`. */
  dryRun?: boolean;
  /**
   * Stop at the first value that cannot be processed (after committing the batch so far). Default:
   * `true`. `decryptAll` does not stop for values it must leave sealed (see its doc comment).
   */
  stopOnFailure?: boolean;
  /** Failures listed in full in the report; the walk stops once it meets this many (they are also counted in `failureGroups`). Default: `1000`. */
  maxFailures?: number;
  /** Run on this QueryRunner (inside a migration: its queryRunner). Default: a new one, released at the end. */
  queryRunner?: QueryRunner;
  /** Called after every batch. Default: none. */
  onProgress?: (progress: RotationProgress) => void;
  /**
   * `rotate` only the values under data keys of this key scope (a key vault's, e.g. one tenant's
   * after `createKey({ scope, activate: true })`); the other modes walk every scope and refuse
   * it (`SEALED_CONFIG`). Default: every scope.
   */
  scope?: string | number;
}

/**
 * Walks every encrypted column of every entity (found from the DataSource's metadata) to rotate
 * keys, encrypt legacy plaintext, decrypt everything back, count, or verify. Each operation
 * returns a report; none throws halfway. Batches go in primary-key order, one transaction each,
 * and every write is a compare-and-swap on the old value, so a concurrent application update is
 * never overwritten. Selection uses the envelope prefix, so running again after a crash simply
 * continues, and two processes on PostgreSQL or MariaDB/MySQL take disjoint rows.
 *
 * Every walk (`rotate`, `encryptExisting`, `decryptAll`, `verify`, dry runs too) refuses with
 * `SEALED_CONFIG`, before it reads anything, an encrypted column whose database type cannot hold
 * envelopes (a legacy json, integer, boolean or date column not widened yet): widen it with
 * `widenColumn()` first. `census` counts such a column.
 *
 * @example
 * ```ts
 * // TYPEORM_SEALED_KEYS="<new key>,<old key>"
 * const rotator = new KeyRotator(dataSource, { onProgress: (p) => console.log(p.column, p.done, p.total) });
 * const report = await rotator.rotate();
 * if (report.status !== 'complete') console.error(report.failures);
 * console.log((await rotator.census()).columns);
 * ```
 */
export class KeyRotator {
  private readonly cipher: FieldCipher;
  private readonly batchSize: number;

  private readonly maxFailures: number;

  constructor(
    readonly dataSource: DataSource,
    private readonly options: KeyRotatorOptions = {},
  ) {
    this.cipher = ownCipher(dataSource, options) ?? fieldCipherOf(dataSource, isForMigration(options));
    this.batchSize = positiveInteger(options.batchSize, 500, 'batchSize');
    this.maxFailures = positiveInteger(options.maxFailures, 1000, 'maxFailures');
  }

  /**
   * For a TypeORM migration: runs on the migration's QueryRunner (and its transaction). The keys
   * are, in order: `options.keys`; the ring of the DataSource's `sealedSubscriber`; and, when the
   * DataSource has none (TypeORM's own CLI runs migrations with `subscribers: []`), the ring of the
   * only `sealedSubscriber` configured in the process (the one your data source file made).
   *
   * @example
   * ```ts
   * async up(queryRunner: QueryRunner) {
   *   const report = await KeyRotator.forMigration(queryRunner).rotate();
   *   if (report.status !== 'complete') throw new Error(JSON.stringify(report.failures));
   * }
   * ```
   */
  static forMigration(queryRunner: QueryRunner, options: Omit<KeyRotatorOptions, 'queryRunner'> = {}): KeyRotator {
    return new KeyRotator(dataSourceOf(queryRunner), { ...options, queryRunner, [FOR_MIGRATION]: true } as KeyRotatorOptions);
  }

  /** Re-seals every value that is not under the active key with the active key. Refuses to start when the data holds key ids the ring lacks. */
  rotate(): Promise<RotationReport> {
    return this.walk('rotate');
  }

  /**
   * Seals every legacy plaintext value (read as the column's type) under the active key, then fills
   * the blind indexes like {@link KeyRotator.reindex}.
   */
  encryptExisting(): Promise<RotationReport> {
    return this.walk('encryptExisting');
  }

  /**
   * Fills every blind index: computes the index value of each row whose index is missing (rows
   * written before the index was declared) or under an older index key (after a new index key was
   * made active), from its decrypted value, and writes it with a compare-and-swap on the value, so
   * a concurrent application write (which writes both) wins. Lookups keep finding every row
   * meanwhile: they match each key of the index key ring. Needs the index keys (the subscriber's
   * `indexKeys`, or `options.indexKeys`). With `recompute`, it reads every row and rewrites each
   * index value that differs from its value's: also values under the active index key that went
   * stale (written by an instance without the index during a rolling deploy, or after a change of
   * `normalize`), which `verify` reports as `SEALED_INDEX_MISMATCH`. Default: `false`.
   *
   * @example
   * ```ts
   * await new KeyRotator(dataSource).reindex();                    // fill and move to the active index key
   * await new KeyRotator(dataSource).reindex({ recompute: true }); // also repair stale index values
   * ```
   */
  reindex(options: { recompute?: boolean } = {}): Promise<RotationReport> {
    return this.walk('reindex', options.recompute ?? false);
  }

  /**
   * Writes every value back as plaintext (FORMAT.md, "Plaintext passthrough"), for leaving
   * encryption. Refuses to start when the data holds key ids the ring lacks. A value whose
   * plaintext starts with `sealed:` cannot be stored as plaintext (it would read as an envelope):
   * it stays sealed and is reported (`SEALED_UNSUPPORTED_VALUE`), as is a stored value that starts
   * with `sealed:` but is not an envelope (`SEALED_MALFORMED`); neither stops the walk.
   */
  decryptAll(): Promise<RotationReport> {
    return this.walk('decryptAll');
  }

  /** Opens every value and reports failures and plaintext, and checks every blind index value matches its value; writes nothing. */
  verify(): Promise<RotationReport> {
    return this.walk('verify');
  }

  /**
   * Counts per column of NULL, plaintext, and values per key id, from the envelope prefix in SQL.
   * It opens no value: `verify` does. Unlike the walks, it also runs on a column not widened yet
   * (json, integer, boolean...): it only counts, with SQL that reads the column as text, and writes
   * nothing, so it can size an adoption before its migration.
   */
  async census(): Promise<CensusReport> {
    return this.withRunner(async (runner) => {
      this.refuseUnknownScope('census');
      const columns: ColumnCensus[] = [];
      const warnings: string[] = [];
      const indexes: IndexCensus[] = [];
      const all = await this.columns(runner, { textOnly: false });
      for (const sql of all) {
        const { empty: _empty, ...census } = await censusOf(runner, sql, this.cipher.keys);
        columns.push(census);
        const emptied = emptiedWarning({ ...census, empty: _empty });
        if (emptied) warnings.push(emptied);
      }
      for (const sql of await this.indexColumns(runner, all, warnings)) {
        const index = await indexCensusOf(runner, sql, this.cipher.indexKeys);
        indexes.push(index);
        const warning = indexWarning(index, this.cipher.indexKeys);
        if (warning) warnings.push(warning);
      }
      if (indexes.length > 0 && !this.cipher.indexKeys) warnings.push('no index keys: the index key ids of blind index values were not checked against a ring');
      const indexKeyId = this.cipher.indexKeys?.activeKeyId;
      return { activeKeyId: this.cipher.keys.activeKeyId, ...(indexKeyId ? { activeIndexKeyId: indexKeyId } : {}), columns, indexes, warnings };
    });
  }

  private async walk(mode: RotationMode, recompute = false): Promise<RotationReport> {
    const started = Date.now();
    return this.withRunner(async (runner) => {
      this.refuseUnknownScope(mode);
      const values = await this.columns(runner, { textOnly: true });
      if (mode === 'rotate' || mode === 'decryptAll') await this.refuseUnknownKeys(runner, values);
      const indexes = mode === 'reindex' || mode === 'encryptExisting' || mode === 'verify' ? await this.indexColumns(runner, values) : [];
      if (indexes.length > 0 && !this.cipher.indexKeys) {
        throw new SealedError(
          'SEALED_CONFIG',
          'the entities have blind indexes but the rotator has no index keys: give the sealedSubscriber indexKeys, or pass { indexKeys } (CLI: --index-keys-env, or TYPEORM_SEALED_INDEX_KEYS when the DataSource has no sealedSubscriber); nothing was read or written',
          { entity: indexes[0]!.sc.entity, column: indexes[0]!.sc.path },
        );
      }
      if (mode === 'reindex' && indexes.length === 0) {
        throw new SealedError(
          'SEALED_CONFIG',
          `${this.options.entities ? 'the entities given have' : "this DataSource's entities have"} no blind index (@Encrypted({ index }))`,
        );
      }
      if (mode !== 'verify') await this.refuseUnknownIndexKeys(runner, indexes);
      const columns = mode === 'reindex' ? indexes : [...values, ...indexes];
      const failures = new FailureTally(this.maxFailures);
      const walks: ColumnWalk[] = [];
      const settings = {
        mode,
        cipher: this.cipher,
        batchSize: this.batchSize,
        dryRun: this.options.dryRun ?? false,
        stopOnFailure: this.options.stopOnFailure ?? true,
        recompute,
        ...(this.options.scope !== undefined ? { scope: String(this.options.scope) } : {}),
        ...(this.options.onProgress ? { onProgress: this.options.onProgress } : {}),
      };
      let stopped = false;
      for (const sql of columns) {
        const walk = new ColumnWalk(sql, settings, failures);
        walks.push(walk);
        if (stopped) await walk.skip(runner);
        else stopped = !(await walk.run(runner));
      }
      const reports = walks.map((w) => w.report);
      const status = (['stopped', 'failed', 'incomplete'] as const).find((s) => reports.some((c) => c.status === s)) ?? ('complete' as WalkStatus);
      return {
        mode,
        status,
        dryRun: settings.dryRun,
        // a rotation of one scope: the key its values went to
        activeKeyId: (this.options.scope !== undefined && this.cipher.keys.activeKeyIdOf?.(String(this.options.scope))) || this.cipher.keys.activeKeyId,
        ...(indexes.length > 0 ? { activeIndexKeyId: this.cipher.indexKeys!.activeKeyId } : {}),
        columns: reports,
        failures: failures.list,
        failureGroups: failures.grouped,
        warnings: walks.flatMap((w) => w.warnings),
        durationMs: Date.now() - started,
      };
    });
  }

  /**
   * The blind index walks of the value columns that have an index; `SEALED_CONFIG` before
   * anything is read when an index column is missing from the database (migrations not run).
   */
  private async indexColumns(runner: QueryRunner, values: readonly ColumnSql[], warnings?: string[]): Promise<ColumnSql[]> {
    const out: ColumnSql[] = [];
    for (const sql of values) {
      if (!sql.sc.index) continue;
      const name = sql.sc.index.column.databaseName;
      if (!(await retrying(sql.dialect, () => runner.hasColumn(sql.metadata.tablePath, name)))) {
        const missing = `the database has no blind index column ${name} in table ${sql.metadata.tablePath}: generate and run the migration that adds it first`;
        // the census reports it; a walk refuses before reading anything
        if (warnings) {
          warnings.push(`${sql.sc.entity}.${sql.sc.path}: ${missing}`);
          continue;
        }
        throw new SealedError('SEALED_CONFIG', missing, { entity: sql.sc.entity, column: sql.sc.path });
      }
      out.push(new ColumnSql(this.dataSource, sql.metadata, sql.sc, 'index'));
    }
    return out;
  }

  /** Fail closed before writing: every key id in the data must be in the ring. */
  private refuseUnknownKeys(runner: QueryRunner, columns: readonly ColumnSql[]): Promise<void> {
    return refuseUnknown(
      columns,
      async (sql) => (await censusOf(runner, sql, this.cipher.keys)).unknownKeyIds,
      (list) => `the data holds values under key ids the ring lacks: ${list}. Add those keys as decryptOnly keys; nothing was written`,
    );
  }

  /**
   * Fail closed before writing an index: every index key id in the data must be in the index ring.
   * A rotator with an older ring (a host not yet given the new index key) would otherwise move
   * index values back to a key the application is about to drop, and lookups would miss them.
   */
  private refuseUnknownIndexKeys(runner: QueryRunner, indexes: readonly ColumnSql[]): Promise<void> {
    return refuseUnknown(
      indexes,
      async (sql) => lackingKeyIds((await sql.indexKeyCounts(runner)).byKeyId, this.cipher.indexKeys),
      (list) =>
        `blind index values are under index key ids the index ring lacks: ${list}. Give the rotator the application's current index keys (a newer key, first), or, for a key retired for good, set those index values to NULL; nothing was written`,
    );
  }

  /**
   * Every encrypted column to walk, once per table and column (single-table inheritance shares
   * them). Refuses with `SEALED_CONFIG`, before anything is read, when there is none (entities not
   * loaded, or `@Encrypted` from another copy of the package) or a table or column is missing
   * (migrations not run, wrong database); with `textOnly`, also when a column's database type
   * cannot hold envelopes (not widened yet: the driver would return objects, numbers or dates,
   * which fail as legacy values, and the database would refuse the envelopes).
   */
  private async columns(runner: QueryRunner, { textOnly }: { textOnly: boolean }): Promise<ColumnSql[]> {
    const metadatas = this.options.entities
      ? this.options.entities.map((target) => this.dataSource.getMetadata(target))
      : this.dataSource.entityMetadatas.filter((m) => m.tableType !== 'view');
    const seen = new Set<string>();
    const out: ColumnSql[] = [];
    for (const metadata of metadatas) {
      const sealed = sealedColumnsOf(metadata);
      if (sealed.length && metadata.primaryColumns.length === 0)
        throw new SealedError('SEALED_CONFIG', 'the rotator needs a primary key to walk the table', { entity: metadata.name });
      for (const sc of sealed) {
        const id = `${metadata.tablePath}\u0000${sc.column.databaseName}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(new ColumnSql(this.dataSource, metadata, sc));
      }
    }
    if (out.length === 0) {
      throw new SealedError(
        'SEALED_CONFIG',
        `${this.options.entities ? 'the entities given have' : "this DataSource's entities have"} no @Encrypted column: are the entities loaded (the DataSource's entities option)?`,
      );
    }
    const tables = new Map<string, Map<string, string>>();
    for (const sql of out) {
      if (!(await retrying(sql.dialect, () => runner.hasColumn(sql.metadata.tablePath, sql.sc.column.databaseName)))) {
        throw new SealedError(
          'SEALED_CONFIG',
          `the database has no column ${sql.sc.column.databaseName} in table ${sql.metadata.tablePath}: run the migrations first, or check the DataSource points at the right database`,
          { entity: sql.sc.entity, column: sql.sc.path },
        );
      }
      if (textOnly) await this.refuseNonText(runner, sql, tables);
    }
    return out;
  }

  /** `SEALED_CONFIG` when a column's database type cannot hold envelopes; `tables` caches each table's types. */
  private async refuseNonText(runner: QueryRunner, sql: ColumnSql, tables: Map<string, Map<string, string>>): Promise<void> {
    const { tablePath } = sql.metadata;
    const column = sql.sc.column.databaseName;
    let types = tables.get(tablePath);
    if (!types) tables.set(tablePath, (types = await retrying(sql.dialect, () => columnTypesOf(runner, this.dataSource, tablePath))));
    const type = types.get(column);
    // undefined: hasColumn found the column but getTable spells it otherwise; nothing to check against.
    if (type === undefined || holdsEnvelopes(type, String(this.dataSource.driver.options.type))) return;
    throw new SealedError(
      'SEALED_CONFIG',
      printable(
        `the database column ${tablePath}.${column} is ${type}, which cannot hold envelopes: widen it to text in place with ` +
          `widenColumn(queryRunner, '${tablePath}', '${column}') in a migration first (not with changeColumn, which drops its values). Nothing was read or written`,
      ),
      { entity: sql.sc.entity, column: sql.sc.path },
    );
  }

  /** `SEALED_CONFIG` before anything is read when `scope` names a scope no data key has (a typo would rotate nothing and look done). */
  private refuseUnknownScope(mode: RotationMode | 'census'): void {
    const scope = this.options.scope;
    if (scope === undefined) return;
    if (mode !== 'rotate') {
      throw new SealedError(
        'SEALED_CONFIG',
        `the scope option applies to rotate only (${mode} walks every scope); leave it out, or run rotate; nothing was read or written`,
      );
    }
    const keys = this.cipher.keys;
    if (keys.keyIds.some((id) => keys.scopeOf?.(id) === String(scope))) return;
    // The scope is not echoed: a value passed in the wrong place may be a key.
    throw new SealedError(
      'SEALED_CONFIG',
      'the scope given has no data key: nothing to rotate (scopes are listed by keys list; the scope is not shown); nothing was read or written',
    );
  }

  private async withRunner<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    await freshVault(this.cipher.keys, this.dataSource);
    if (this.options.queryRunner) return work(this.options.queryRunner);
    const runner = this.dataSource.createQueryRunner();
    try {
      return await work(runner);
    } finally {
      await runner.release();
    }
  }
}

/** Set by {@link KeyRotator.forMigration}: may use the only sealedSubscriber configured in the process. */
const FOR_MIGRATION = Symbol('forMigration');

function isForMigration(options: KeyRotatorOptions): boolean {
  return (options as { [FOR_MIGRATION]?: boolean })[FOR_MIGRATION] === true;
}

/** `SEALED_WRONG_KEY` naming each unknown key id and the columns holding it, when `unknownIdsOf` finds any. */
async function refuseUnknown(
  columns: readonly ColumnSql[],
  unknownIdsOf: (sql: ColumnSql) => Promise<string[]>,
  message: (list: string) => string,
): Promise<void> {
  const unknown = new Map<string, string[]>();
  for (const sql of columns) {
    for (const id of await unknownIdsOf(sql)) unknown.set(id, [...(unknown.get(id) ?? []), `${sql.sc.entity}.${sql.sc.path}`]);
  }
  if (unknown.size === 0) return;
  const list = [...unknown].map(([id, where]) => `${id} (in ${where.join(', ')})`).join('; ');
  throw new SealedError('SEALED_WRONG_KEY', message(list), { keyId: [...unknown.keys()][0]! });
}

/**
 * The rotator's own cipher when it was given keys: with `options.indexKeys`, else the index keys of
 * the DataSource's subscriber if it has one. Undefined to use the subscriber's cipher.
 */
function ownCipher(dataSource: DataSource, options: KeyRotatorOptions): FieldCipher | undefined {
  if (options.keys === undefined && options.indexKeys === undefined) return undefined;
  let subscriber: FieldCipher | undefined;
  try {
    subscriber = fieldCipherOf(dataSource, isForMigration(options));
  } catch (e) {
    // no (single) sealed subscriber: the options must say everything
    if (!(e instanceof SealedError && e.code === 'SEALED_CONFIG')) throw e;
  }
  const keys = options.keys === undefined ? subscriber?.keys : requireKeys(options.keys, 'KeyRotator');
  if (keys === undefined)
    throw new SealedError('SEALED_CONFIG', 'KeyRotator: indexKeys without keys needs a sealedSubscriber on the DataSource; pass { keys } too');
  const indexKeys = options.indexKeys === undefined ? subscriber?.indexKeys : requireKeyRing(options.indexKeys, 'KeyRotator indexKeys');
  return new FieldCipher(keys, indexKeys ? { indexKeys: separateIndexKeys(keys, indexKeys) } : {});
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new SealedError('SEALED_CONFIG', `KeyRotator: ${name} must be a positive integer`);
  return n;
}
