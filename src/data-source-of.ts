import type { DataSource } from 'typeorm';

/**
 * The DataSource that an EntityMetadata, QueryRunner or subscriber event belongs to. TypeORM 1.x
 * names it `dataSource`, 0.3 `connection`.
 */
export function dataSourceOf(owner: object): DataSource {
  return (owner as { dataSource?: DataSource }).dataSource ?? (owner as { connection: DataSource }).connection;
}
