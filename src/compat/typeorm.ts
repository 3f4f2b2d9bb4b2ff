// Differences between TypeORM 0.3 and 1.x, in one place.
import type { DataSource, ObjectLiteral, QueryRunner } from 'typeorm';

/**
 * The DataSource that an EntityMetadata, QueryRunner or subscriber event belongs to. TypeORM 1.x
 * names it `dataSource`, 0.3 `connection`.
 */
export function dataSourceOf(owner: object): DataSource {
  return (owner as { dataSource?: DataSource }).dataSource ?? (owner as { connection: DataSource }).connection;
}

/**
 * `driver.escapeQueryWithParameters`: 0.3 takes a third argument (native parameters) and fails
 * without it; 1.x takes two.
 */
export function escapeQuery(dataSource: DataSource, sql: string, parameters: ObjectLiteral): [string, unknown[]] {
  const escape = dataSource.driver.escapeQueryWithParameters as (sql: string, params: ObjectLiteral, native: ObjectLiteral) => [string, unknown[]];
  return escape.call(dataSource.driver, sql, parameters, {});
}

/**
 * A query event, as the subscriber reads it. Declared here rather than taken from TypeORM, whose
 * query event types differ between 0.3 (generic) and 1.x.
 */
export interface SealedQueryEvent {
  /** The DataSource (TypeORM 1.x). */
  dataSource?: DataSource;
  /** The DataSource (TypeORM 0.3). */
  connection?: DataSource;
  queryRunner: QueryRunner;
  query: string;
  /** Positional (an array) or named (an object), by driver. */
  parameters?: readonly unknown[] | object;
}

/** A query event after the query ran. */
export interface SealedAfterQueryEvent extends SealedQueryEvent {
  success: boolean;
}
