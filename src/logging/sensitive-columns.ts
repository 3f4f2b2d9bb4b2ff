import type { DataSource, EntityMetadata } from 'typeorm';
import { sealedColumnsOf } from '../metadata/column-plan';
import { anyOf } from './any-of';
import type { ColumnRef, TableScope } from './parameter-bindings';

/**
 * The columns whose values a log must not show: every encrypted column and blind index column of
 * a DataSource's entities, by table. Names are compared in lower case, so a column is found
 * however a statement spells it.
 */
export class SensitiveColumns {
  /** Table -> its sensitive columns, for every entity table (an empty set: none). */
  private readonly byTable = new Map<string, Set<string>>();
  private readonly mention: RegExp | undefined;

  constructor(metadatas: readonly EntityMetadata[]) {
    const names = new Set<string>();
    for (const metadata of metadatas) {
      const table = metadata.tableName.toLowerCase();
      const columns = this.byTable.get(table) ?? new Set<string>();
      this.byTable.set(table, columns);
      for (const sc of sealedColumnsOf(metadata)) {
        for (const column of sc.index ? [sc.column, sc.index.column] : [sc.column]) {
          const name = column.databaseName.toLowerCase();
          columns.add(name);
          names.add(name);
        }
        names.add(table);
      }
    }
    this.mention = names.size ? anyOf(names, 'i') : undefined;
  }

  /** Whether a statement names a table with sensitive columns, or such a column, anywhere in its text (a literal or a comment too). */
  mentionedIn(sql: string): boolean {
    return this.mention?.test(sql) ?? false;
  }

  /**
   * Whether a column named by a statement that mentions sensitive data may be sensitive: a
   * sensitive column of an entity table its qualifier (or, unqualified, the statement) names; any
   * column when the reference leads to no entity table (a CTE, a derived table's alias, a select
   * list alias, a table this DataSource has no entity for), since such a name can stand for a
   * sensitive column (`WITH s AS (SELECT phone AS c FROM "user") ... WHERE c = $1`).
   */
  includes(ref: ColumnRef, scope: TableScope): boolean {
    const tables = ref.qualifier === undefined ? scope.tables : scope.aliases.get(ref.qualifier);
    if (!tables?.size) return true;
    return [...tables].some((table) => this.byTable.get(table)?.has(ref.column) ?? true);
  }
}

/** Per list of entity metadata: TypeORM builds a new list when it (re)builds a DataSource's metadata. */
const catalogs = new WeakMap<readonly EntityMetadata[], SensitiveColumns>();

/** The sensitive columns of a DataSource's entities, as its metadata stands now. */
export function sensitiveColumnsOf(dataSource: DataSource): SensitiveColumns {
  const metadatas = dataSource.entityMetadatas;
  let columns = catalogs.get(metadatas);
  if (!columns) catalogs.set(metadatas, (columns = new SensitiveColumns(metadatas)));
  return columns;
}
