import {
  EntityNotFoundError,
  type EntityMetadata,
  type FindManyOptions,
  type FindOneOptions,
  type FindOptionsWhere,
  type ObjectLiteral,
  type Repository,
} from 'typeorm';
import type { FieldCipher } from '../cipher/field-cipher';
import { fieldCipherOf } from '../cipher/registry';
import { dataSourceOf } from '../compat/typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { sealedColumnsOf } from '../metadata/column-plan';
import { passesChecks, translateWhere, type TranslatedBranch } from './sealed-where';

type Where<T> = FindOptionsWhere<T> | FindOptionsWhere<T>[];

/**
 * The repository with its `find*`, `count*` and `exists*` methods taking plaintext for fields with
 * a blind index (`@Encrypted({ index })`), in the find options you already write. Each such field
 * compared with a value (or `Equal(v)`, `In([...])`) is looked up through its index column, which
 * the database's index serves; the candidate rows are decrypted and re-checked, so the result holds
 * exactly the rows whose fields equal the values once normalised (a truncated index's false
 * positives, and rows someone copied an index value into, are dropped), and `skip`, `take` and
 * counts apply to those rows. The plaintext never reaches SQL, parameters or logs.
 *
 * A search reads every candidate row of its index buckets and pages in memory (about
 * R / 2^bits extra rows per value with a truncated index). An array `where` (OR) takes one more
 * query per branch, for the keys of that branch's own matches. The searched fields are selected for
 * the re-check (also `select: false` ones) and removed again when the options did not select them.
 * `find*` options without an indexed field go to the repository unchanged. Searching an encrypted
 * field through relations (`where: { author: { email } }`) is refused before any SQL is sent.
 *
 * @example
 * ```ts
 * const users = sealedRepository(dataSource.getRepository(User));
 * const user = await users.findOneBy({ email: 'Alice@Example.com ' }); // normalised as the index says
 * const [page, total] = await users.findAndCount({ where: { email: In(addresses) }, order: { id: 'ASC' }, take: 20 });
 * ```
 */
export function sealedRepository<T extends ObjectLiteral>(repository: Repository<T>): Repository<T> {
  const cipher = fieldCipherOf(dataSourceOf(repository.manager));
  const search = new SealedSearch(repository, cipher);
  const find = (options: FindManyOptions<T> = {}) => search.find(options);
  const findOne = async (options: FindOneOptions<T>) => (await search.find({ ...options, take: 1 }))[0] ?? null;
  const orFail = async (options: FindOneOptions<T>) => {
    const found = await findOne(options);
    if (found === null) throw new EntityNotFoundError(repository.target, search.redacted(options.where));
    return found;
  };
  const count = (options: FindManyOptions<T> = {}) => search.count(options);
  const exists = (options: FindManyOptions<T> = {}) => search.exists(options);
  const methods: Record<string, unknown> = {
    find,
    findBy: (where: Where<T>) => find({ where }),
    findOne,
    findOneBy: (where: Where<T>) => findOne({ where }),
    findOneOrFail: orFail,
    findOneByOrFail: (where: Where<T>) => orFail({ where }),
    findAndCount: (options: FindManyOptions<T> = {}) => search.findAndCount(options),
    findAndCountBy: (where: Where<T>) => search.findAndCount({ where }),
    count,
    countBy: (where: Where<T>) => count({ where }),
    exists,
    existsBy: (where: Where<T>) => exists({ where }),
  };
  // TypeORM 0.3 also has the older name `exist`.
  if (typeof (repository as { exist?: unknown }).exist === 'function') methods.exist = exists;
  return repository.extend(methods as never) as Repository<T>;
}

/** How {@link sealedRepository} answers a search: candidates from the database, re-checked after decryption. */
class SealedSearch<T extends ObjectLiteral> {
  constructor(
    private readonly repository: Repository<T>,
    private readonly cipher: FieldCipher,
  ) {}

  async find(options: FindManyOptions<T>): Promise<T[]> {
    const branches = this.translate(options.where);
    if (!branches) return this.repository.find(options);
    return (await this.matching(options, branches)).slice(options.skip ?? 0, options.take === undefined ? undefined : (options.skip ?? 0) + options.take);
  }

  async findAndCount(options: FindManyOptions<T>): Promise<[T[], number]> {
    const branches = this.translate(options.where);
    if (!branches) return this.repository.findAndCount(options);
    const rows = await this.matching(options, branches);
    const from = options.skip ?? 0;
    return [rows.slice(from, options.take === undefined ? undefined : from + options.take), rows.length];
  }

  async exists(options: FindManyOptions<T>): Promise<boolean> {
    const branches = this.translate(options.where);
    return branches ? (await this.matching(options, branches)).length > 0 : this.repository.exists(options);
  }

  async count(options: FindManyOptions<T>): Promise<number> {
    const branches = this.translate(options.where);
    return branches ? (await this.matching(options, branches)).length : this.repository.count(options);
  }

  /** `where` with the values of encrypted fields replaced, for errors that quote it (TypeORM's EntityNotFoundError does). */
  redacted(where: unknown): unknown {
    const sealed = new Set(sealedColumnsOf(this.repository.metadata).map((sc) => sc.column.propertyName));
    const replacer = (key: string, value: unknown) => (key !== '' && sealed.has(key) ? '[encrypted]' : typeof value === 'bigint' ? String(value) : value);
    return JSON.parse(JSON.stringify(where ?? {}, replacer)) as unknown;
  }

  /** The translated branches, or undefined when no branch searches an indexed field. */
  private translate(where: unknown): TranslatedBranch[] | undefined {
    const branches = translateWhere(this.cipher, this.repository.metadata, where);
    return branches.some((b) => b.checks.length > 0) ? branches : undefined;
  }

  /**
   * Every matching row in the order asked for, unpaged: the candidates of the `where` in one query
   * (with the searched fields selected, which the re-check reads, and dropped again from the rows
   * when the options did not select them). For an OR `where`, the keys of each branch's matching
   * rows come first, each branch alone: a row is kept when its key is among them (a candidate of
   * one branch that passes another branch's re-check may fail that branch's other conditions).
   */
  private async matching(options: FindManyOptions<T>, branches: TranslatedBranch[]): Promise<T[]> {
    const { skip: _skip, take: _take, ...rest } = options;
    const metadata = this.repository.metadata;
    const searched = [...new Set(branches.flatMap((b) => b.checks.map((c) => c.sc.column)))];
    const { select, added } = selectForCheck(metadata, options.select, searched);
    const where = branches.length === 1 ? branches[0]!.where : branches.map((b) => b.where);
    const rows = await this.repository.find({ ...rest, ...(select ? { select } : {}), where } as FindManyOptions<T>);
    let matches: T[];
    if (branches.length === 1) {
      matches = rows.filter((row) => passesChecks(this.cipher, row, branches[0]!.checks));
    } else {
      const keys = new Set<string>();
      for (const branch of branches) {
        const columns = [...new Set(branch.checks.map((c) => c.sc.column))];
        const keySelect = selectForCheck(metadata, Object.fromEntries(metadata.primaryColumns.map((c) => [c.propertyName, true])) as never, columns).select;
        const candidates = await this.repository.find({ where: branch.where, select: keySelect, withDeleted: options.withDeleted } as FindManyOptions<T>);
        for (const row of candidates) if (passesChecks(this.cipher, row, branch.checks)) keys.add(keyOf(metadata, row));
      }
      matches = rows.filter((row) => keys.has(keyOf(metadata, row)));
    }
    for (const row of matches) for (const column of added) dropField(row, column);
    return matches;
  }
}

/** A row's primary key as one string, to compare rows of two queries. */
function keyOf(metadata: EntityMetadata, row: ObjectLiteral): string {
  return metadata.primaryColumns
    .map((c) => {
      const value: unknown = c.getEntityValue(row);
      return value instanceof Date ? `date:${value.getTime()}` : `${typeof value}:${String(value)}`;
    })
    .join('\u0000');
}

/**
 * The `select` of a search: the options' own, with the searched fields added (the re-check reads
 * them); undefined when the options select nothing and every searched field is selected by
 * default. `added` lists the fields the options did not ask for, to drop from the rows.
 */
function selectForCheck<T>(
  metadata: EntityMetadata,
  select: FindManyOptions<T>['select'],
  searched: readonly ColumnMetadata[],
): { select: FindManyOptions<T>['select'] | undefined; added: ColumnMetadata[] } {
  if (select === undefined) {
    const added = searched.filter((c) => !c.isSelect);
    if (added.length === 0) return { select: undefined, added };
    // every column selected by default, and the searched ones that are not
    const columns = metadata.columns.filter((c) => (c.isSelect || added.includes(c)) && !c.relationMetadata && !c.isVirtual);
    return {
      select: selectOf(
        columns.map((c) => c.propertyPath),
        {},
      ) as never,
      added,
    };
  }
  const chosen = Array.isArray(select) ? (select as string[]) : undefined;
  const added = searched.filter((c) => (chosen ? !chosen.includes(c.propertyPath) : !isSelected(select as Record<string, unknown>, c.propertyPath)));
  if (chosen) return { select: [...chosen, ...added.map((c) => c.propertyPath)] as never, added };
  return {
    select: selectOf(
      added.map((c) => c.propertyPath),
      structuredClone(select) as Record<string, unknown>,
    ) as never,
    added,
  };
}

/** Whether an object-form `select` selects a property path (`address.street`). */
function isSelected(select: Record<string, unknown>, path: string): boolean {
  let level: unknown = select;
  for (const part of path.split('.')) {
    if (typeof level !== 'object' || level === null) return false;
    level = (level as Record<string, unknown>)[part];
  }
  return level === true || (typeof level === 'object' && level !== null);
}

/** `into`, with `true` set at each property path (nested objects for embedded paths). */
function selectOf(paths: readonly string[], into: Record<string, unknown>): Record<string, unknown> {
  for (const path of paths) {
    const parts = path.split('.');
    let level = into;
    for (const part of parts.slice(0, -1))
      level = (level[part] = typeof level[part] === 'object' && level[part] !== null ? level[part] : {}) as Record<string, unknown>;
    level[parts.at(-1)!] = true;
  }
  return into;
}

/** Removes a field from a loaded row (from its embedded object for an embedded column). */
function dropField(row: ObjectLiteral, column: ColumnMetadata): void {
  let holder: ObjectLiteral | undefined = row;
  for (const name of column.embeddedMetadata?.parentPropertyNames ?? []) holder = holder?.[name] as ObjectLiteral | undefined;
  if (holder) delete holder[column.propertyName];
}
