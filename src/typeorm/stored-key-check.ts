import { DataSource, type EntityMetadata, type QueryRunner } from 'typeorm';
import type { FieldCipher } from '../cipher/field-cipher';
import { cipherSubscribersOf, FIELD_CIPHER, fieldCipherOf } from '../cipher/registry';
import { dialectOf, quotedTablePath } from '../compat/dialect';
import { INDEX_PREFIX_LENGTH, keyIdOfIndexPrefix } from '../envelope/blind-index';
import { HEADER_LENGTH, keyIdOfHeader } from '../envelope/format';
import { SealedError } from '../errors';
import type { KeySource } from '../keys/key-source';
import { INTERNAL_QUERY_MARKER } from '../internal-query';
import { sealedColumnsOf } from '../metadata/column-plan';

/** Options of {@link checkStoredKeyIds} and of sealedSubscriber's `checkKeyIds`. */
export interface KeyIdCheckOptions {
  /**
   * Rows read per encrypted column (and per blind index column): this many with the lowest
   * primary keys and this many with the highest, two ordered reads of the primary key index. The
   * oldest rows show the oldest keys still in use, the newest the key other processes seal with
   * now. Default: `100`.
   */
  sampleRows?: number;
}

/** A column of stored values, and the key ids found in its sample that the keys lack. */
interface Missing {
  entity: string;
  /** The field's property path. */
  column: string;
  /** The field, or its blind index column, as the message names it. */
  shown: string;
  keyIds: string[];
}

const DEFAULT_SAMPLE_ROWS = 100;

/**
 * Reads the key ids of a sample of every encrypted column (and blind index column) of the
 * DataSource's entities, and fails with `SEALED_WRONG_KEY` naming each column and the key ids its
 * keys lack (shredded keys are not missing), instead of the first unlucky read failing in
 * production. Tables and columns that do not exist yet are skipped. No value is opened. A key
 * vault fetches keys created since it loaded before it calls one missing. A sample can miss a
 * key that only rows in the middle of a table use: `typeorm-sealed census` counts every row.
 *
 * sealedSubscriber's `checkKeyIds` option runs it at the end of every `initialize()` (a key ring
 * only: a key vault loads after `initialize()`, so call this after `vault.load()`).
 *
 * @example
 * ```ts
 * await dataSource.initialize();
 * await vault.load(dataSource);
 * await checkStoredKeyIds(dataSource); // SEALED_WRONG_KEY: User.email holds values under key 1a2b3c4d, which the keys lack ...
 * ```
 */
export async function checkStoredKeyIds(dataSource: DataSource, options: KeyIdCheckOptions = {}): Promise<void> {
  const rows = sampleRowsOf(options);
  if (cipherSubscribersOf(dataSource).length === 0) {
    throw new SealedError(
      'SEALED_CONFIG',
      'checkStoredKeyIds checks the keys of the sealedSubscriber(...) registered on the DataSource, and it has none (is it initialized?)',
    );
  }
  const cipher = fieldCipherOf(dataSource);
  const missing: Missing[] = [];
  const runner = dataSource.createQueryRunner();
  try {
    for (const metadata of dataSource.entityMetadatas) {
      const columns = sealedColumnsOf(metadata);
      // A view's values are its tables' (checked there).
      if (columns.length === 0 || metadata.tableType === 'view' || !(await runner.hasTable(metadata.tablePath))) continue;
      for (const sc of columns) {
        const targets: [string, KeySource | undefined, 'value' | 'index'][] = [[sc.column.databaseName, cipher.keys, 'value']];
        if (sc.index) targets.push([sc.index.column.databaseName, cipher.indexKeys, 'index']);
        for (const [column, keys, kind] of targets) {
          if (!keys || !(await runner.hasColumn(metadata.tablePath, column))) continue;
          const lacking = await lackingKeyIds(keys, await sampledKeyIds(runner, metadata, column, kind, rows), runner);
          const shown = `${sc.entity}.${sc.path}${kind === 'index' ? ` (blind index ${column})` : ''}`;
          if (lacking.length > 0) missing.push({ entity: sc.entity, column: sc.path, shown, keyIds: lacking });
        }
      }
    }
  } finally {
    await runner.release();
  }
  if (missing.length > 0) throw missingKeysError(missing, cipher);
}

function sampleRowsOf(options: KeyIdCheckOptions): number {
  const rows = options?.sampleRows ?? DEFAULT_SAMPLE_ROWS;
  if (!Number.isSafeInteger(rows) || rows < 1 || rows > 1_000_000) {
    throw new SealedError('SEALED_CONFIG', 'checkKeyIds sampleRows must be an integer from 1 to 1000000');
  }
  return rows;
}

/**
 * Distinct key ids of the values (or index values) in the first and last `rows` rows by primary
 * key (every entity table has one), NULLs included: a filter on the column would scan a
 * mostly-NULL table.
 */
async function sampledKeyIds(runner: QueryRunner, metadata: EntityMetadata, databaseName: string, kind: 'value' | 'index', rows: number): Promise<string[]> {
  const dataSource = runner.connection;
  const q = (name: string) => dataSource.driver.escape(name);
  const table = quotedTablePath(dataSource, metadata.tablePath);
  const [prefix, keyIdOf] = kind === 'index' ? [INDEX_PREFIX_LENGTH, keyIdOfIndexPrefix] : [HEADER_LENGTH, keyIdOfHeader];
  const select = `SELECT SUBSTR(${dialectOf(dataSource).asText(q(databaseName))}, 1, ${prefix}) AS p FROM ${table}`;
  const keys = metadata.primaryColumns.map((c) => q(c.databaseName));
  const end = (direction: 'ASC' | 'DESC', alias: string) =>
    `SELECT p FROM (${select} ORDER BY ${keys.map((k) => `${k} ${direction}`).join(', ')} LIMIT ${rows}) ${alias}`;
  const found: { p: unknown }[] = await runner.query(`${end('ASC', 'first_rows')} UNION ${end('DESC', 'last_rows')} ${INTERNAL_QUERY_MARKER}`);
  return [...new Set(found.map(({ p }) => (p === null || p === undefined ? undefined : keyIdOf(String(p)))).filter((id) => id !== undefined))];
}

/** The ids `keys` neither holds nor shredded; a key vault first fetches those created since it loaded. */
async function lackingKeyIds(keys: KeySource, ids: readonly string[], runner: QueryRunner): Promise<string[]> {
  const lacking = () => ids.filter((id) => !keys.has(id) && !(keys.shreddedKeyIds ?? []).includes(id));
  if (lacking().length > 0) await keys.prepare?.({ keyIds: lacking() }, runner);
  return lacking().sort();
}

function missingKeysError(missing: readonly Missing[], cipher: FieldCipher): SealedError {
  const where = missing.map((m) => `${m.shown} under ${m.keyIds.join(', ')}`).join('; ');
  const first = missing[0]!;
  const advice = cipher.keys.prepare
    ? 'Is this the right database for this key vault (the ids are not in its data key table)?'
    : 'Is this the right key ring for this database? Add the missing keys as decrypt-only keys, then rotate.';
  return new SealedError(
    'SEALED_WRONG_KEY',
    `key id check: the database holds values sealed under keys these keys lack: ${where} (the keys hold ${cipher.keys.keyIds.join(', ') || 'none'}` +
      `${cipher.indexKeys ? `; the index keys hold ${cipher.indexKeys.keyIds.join(', ')}` : ''}). ${advice}`,
    { entity: first.entity, column: first.column, keyId: first.keyIds[0]! },
  );
}

const PATCHED = Symbol.for('typeorm-sealed.v1.check-key-ids-at-initialize');
/**
 * Set by the CLI (on `globalThis`, so the application's copy of the package sees it too): the
 * CLI uses keys of its own (`--keys-env`) and reports what the check would refuse, so a data
 * source file with `checkKeyIds` must still start there.
 */
const SKIP_CHECKS = Symbol.for('typeorm-sealed.v1.skip-key-id-checks');
const requested = new WeakMap<FieldCipher, KeyIdCheckOptions>();
/** DataSources whose `initialize()` was the patched one (so the check ran, or was skipped on purpose). */
const covered = new WeakSet<DataSource>();

/** Makes every later `initialize()` in this process skip the key id check (the CLI's). */
export function skipKeyIdChecks(): void {
  (globalThis as Record<symbol, unknown>)[SKIP_CHECKS] = true;
}

/**
 * `SEALED_CONFIG` when this cipher asked for the check and `dataSource` was initialized without
 * it: its TypeORM is another copy than the one this package patched (two copies of typeorm are
 * installed). Called at the DataSource's first event.
 */
export function keyIdCheckMissed(dataSource: DataSource, cipher: FieldCipher): SealedError | undefined {
  if (!requested.has(cipher) || covered.has(dataSource)) return undefined;
  return new SealedError(
    'SEALED_CONFIG',
    'checkKeyIds is on, but this DataSource was initialized without the check: its typeorm is another copy than the one typeorm-sealed uses ' +
      '(two copies of typeorm are installed; npm ls typeorm shows them). Install one copy, or call checkStoredKeyIds(dataSource) after initialize()',
  );
}

/**
 * Makes `initialize()` of a DataSource whose sealed subscriber has this cipher end with
 * {@link checkStoredKeyIds} (after migrationsRun and synchronize); when the check fails, the
 * DataSource is destroyed and `initialize()` rejects with its error.
 */
export function checkKeyIdsAtInitialize(cipher: FieldCipher, options: KeyIdCheckOptions): void {
  sampleRowsOf(options);
  requested.set(cipher, options);
  const prototype = DataSource.prototype as unknown as Record<string | symbol, unknown>;
  if (prototype[PATCHED]) return;
  const initialize = prototype.initialize as (this: DataSource) => Promise<DataSource>;
  prototype.initialize = async function (this: DataSource): Promise<DataSource> {
    covered.add(this);
    await initialize.call(this);
    const cipher = cipherSubscribersOf(this)
      .map((s) => s[FIELD_CIPHER])
      .find((c) => requested.has(c));
    if (cipher && !(globalThis as Record<symbol, unknown>)[SKIP_CHECKS]) {
      try {
        await checkStoredKeyIds(this, requested.get(cipher));
      } catch (e) {
        await this.destroy().catch(() => undefined);
        throw e;
      }
    }
    return this;
  };
  prototype[PATCHED] = true;
}
