import type { DataSource, EntityTarget, ObjectLiteral, QueryRunner } from 'typeorm';
import { dataSourceOf } from '../data-source-of';
import { Sealer } from '../envelope/sealer';
import { SealedError } from '../errors';
import { KeyRing } from '../keys/key-ring';
import { sealedColumnsOf } from '../metadata/column-plan';
import { ColumnCrypto } from '../typeorm/column-crypto';
import { sealerOf } from '../typeorm/sealed-subscriber';
import { ColumnWalk } from './column-walk';
import type { CensusReport, ColumnCensus, RotationMode, RotationProgress, RotationReport, RowFailure } from './report';
import { ColumnSql } from './sql';

/** Options of {@link KeyRotator}. */
export interface KeyRotatorOptions {
  /** The key ring. Default: the ring of the `sealedSubscriber` registered on the DataSource. */
  keys?: KeyRing;
  /** Rows per batch; each batch is one transaction. Default: `500`. */
  batchSize?: number;
  /** Entities to walk. Default: every entity with an encrypted column. */
  entities?: EntityTarget<ObjectLiteral>[];
  /** Read and check everything, write nothing; the report counts what would be written. Default: `false`. */
  dryRun?: boolean;
  /** Stop at the first value that cannot be processed (after committing the batch so far). Default: `true`. */
  stopOnFailure?: boolean;
  /** Failures kept in the report; the walk stops once it holds this many. Default: `1000`. */
  maxFailures?: number;
  /** Run on this QueryRunner (inside a migration: its queryRunner). Default: a new one, released at the end. */
  queryRunner?: QueryRunner;
  /** Called after every batch. Default: none. */
  onProgress?: (progress: RotationProgress) => void;
}

const HEADER = /^sealed:1:x:([0-9a-f]{8}):$/;

/**
 * Walks every encrypted column of every entity (found from the DataSource's metadata) to rotate
 * keys, encrypt legacy plaintext, decrypt everything back, count, or verify. Each operation
 * returns a report; none throws halfway. Batches go in primary-key order, one transaction each,
 * and every write is a compare-and-swap on the old value, so a concurrent application update is
 * never overwritten. Selection uses the envelope prefix, so running again after a crash simply
 * continues, and two processes on PostgreSQL or MariaDB/MySQL take disjoint rows.
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
  private readonly crypto: ColumnCrypto;
  private readonly batchSize: number;

  constructor(
    readonly dataSource: DataSource,
    private readonly options: KeyRotatorOptions = {},
  ) {
    if (options.keys !== undefined && !(options.keys instanceof KeyRing)) {
      throw new SealedError('SEALED_CONFIG', 'KeyRotator: keys must be a KeyRing');
    }
    this.crypto = options.keys ? new ColumnCrypto(new Sealer(options.keys), false) : sealerOf(dataSource).crypto;
    this.batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new SealedError('SEALED_CONFIG', `KeyRotator: batchSize must be a positive integer, got ${String(options.batchSize)}`);
    }
  }

  /**
   * For a TypeORM migration: runs on the migration's QueryRunner (and its transaction).
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
    return new KeyRotator(dataSourceOf(queryRunner), { ...options, queryRunner });
  }

  /** Re-seals every value that is not under the active key with the active key. Refuses to start when the data holds key ids the ring lacks. */
  rotate(): Promise<RotationReport> {
    return this.walk('rotate');
  }

  /** Seals every legacy plaintext value (read as the column's type) under the active key. */
  encryptExisting(): Promise<RotationReport> {
    return this.walk('encryptExisting');
  }

  /** Writes every value back as plaintext (FORMAT.md, "Plaintext passthrough"), for leaving encryption. Refuses to start when the data holds key ids the ring lacks. */
  decryptAll(): Promise<RotationReport> {
    return this.walk('decryptAll');
  }

  /** Opens every value and reports failures and plaintext; writes nothing. */
  verify(): Promise<RotationReport> {
    return this.walk('verify');
  }

  /** Counts per column of NULL, plaintext, and values per key id, from the envelope prefix in SQL. */
  async census(): Promise<CensusReport> {
    return this.withRunner(async (runner) => {
      const columns: ColumnCensus[] = [];
      for (const sql of this.columns()) columns.push(await this.countColumn(runner, sql));
      return { activeKeyId: this.crypto.keys.activeKeyId, columns };
    });
  }

  private async walk(mode: RotationMode): Promise<RotationReport> {
    const started = Date.now();
    return this.withRunner(async (runner) => {
      if (mode === 'rotate' || mode === 'decryptAll') await this.refuseUnknownKeys(runner);
      const failures: RowFailure[] = [];
      const walks: ColumnWalk[] = [];
      const settings = {
        mode,
        crypto: this.crypto,
        batchSize: this.batchSize,
        dryRun: this.options.dryRun ?? false,
        stopOnFailure: this.options.stopOnFailure ?? true,
        maxFailures: this.options.maxFailures ?? 1000,
        ...(this.options.onProgress ? { onProgress: this.options.onProgress } : {}),
      };
      for (const sql of this.columns()) {
        const walk = new ColumnWalk(sql, settings, failures);
        walks.push(walk);
        if (!(await walk.run(runner))) break;
      }
      const columns = walks.map((w) => w.report);
      const status = columns.some((c) => c.status === 'stopped')
        ? 'stopped'
        : columns.some((c) => c.status === 'failed')
          ? 'failed'
          : columns.some((c) => c.status === 'incomplete')
            ? 'incomplete'
            : 'complete';
      return { mode, status, dryRun: settings.dryRun, activeKeyId: this.crypto.keys.activeKeyId, columns, failures, durationMs: Date.now() - started };
    });
  }

  /** Fail closed before writing: every key id in the data must be in the ring. */
  private async refuseUnknownKeys(runner: QueryRunner): Promise<void> {
    const unknown = new Map<string, string[]>();
    for (const sql of this.columns()) {
      for (const id of (await this.countColumn(runner, sql)).unknownKeyIds) unknown.set(id, [...(unknown.get(id) ?? []), `${sql.sc.entity}.${sql.sc.path}`]);
    }
    if (unknown.size === 0) return;
    const list = [...unknown].map(([id, where]) => `${id} (in ${where.join(', ')})`).join('; ');
    throw new SealedError(
      'SEALED_WRONG_KEY',
      `the data holds values under key ids the ring lacks: ${list}. Add those keys as decryptOnly keys; nothing was written`,
      { keyId: [...unknown.keys()][0]! },
    );
  }

  private async countColumn(runner: QueryRunner, sql: ColumnSql): Promise<ColumnCensus> {
    const census: ColumnCensus = { entity: sql.sc.entity, column: sql.sc.path, table: sql.metadata.tablePath, total: 0, nulls: 0, plaintext: 0, byKeyId: {}, malformed: 0, unknownKeyIds: [] };
    for (const { bucket, n } of await sql.headerCounts(runner)) {
      census.total += n;
      if (bucket === 'null') census.nulls += n;
      else if (bucket === 'plaintext') census.plaintext += n;
      else {
        const keyId = HEADER.exec(bucket)?.[1];
        if (keyId === undefined) census.malformed += n;
        else census.byKeyId[keyId] = (census.byKeyId[keyId] ?? 0) + n;
      }
    }
    census.unknownKeyIds = Object.keys(census.byKeyId).filter((id) => !this.crypto.keys.has(id));
    return census;
  }

  /** Every encrypted column to walk, once per table and column (single-table inheritance shares them). */
  private columns(): ColumnSql[] {
    const metadatas = this.options.entities
      ? this.options.entities.map((target) => this.dataSource.getMetadata(target))
      : this.dataSource.entityMetadatas.filter((m) => m.tableType !== 'view');
    const seen = new Set<string>();
    const out: ColumnSql[] = [];
    for (const metadata of metadatas) {
      if (metadata.primaryColumns.length === 0) {
        if (sealedColumnsOf(metadata).length) throw new SealedError('SEALED_CONFIG', 'the rotator needs a primary key to walk the table', { entity: metadata.name });
        continue;
      }
      for (const sc of sealedColumnsOf(metadata)) {
        const id = `${metadata.tablePath}\u0000${sc.column.databaseName}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(new ColumnSql(this.dataSource, metadata, sc));
      }
    }
    return out;
  }

  private async withRunner<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    if (this.options.queryRunner) return work(this.options.queryRunner);
    const runner = this.dataSource.createQueryRunner();
    try {
      return await work(runner);
    } finally {
      await runner.release();
    }
  }
}
