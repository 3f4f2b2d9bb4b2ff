import { EntityNotFoundError, In, type FindManyOptions, type FindOneOptions, type FindOptionsWhere, type ObjectLiteral, type Repository } from 'typeorm';
import type { FieldCipher } from '../cipher/field-cipher';
import { fieldCipherOf } from '../cipher/registry';
import { dataSourceOf } from '../compat/typeorm';
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
 * R / 2^bits extra rows per value with a truncated index). An array `where` (OR) is answered in
 * two queries: the keys of the matching rows of each branch, then the rows by key. `find*`
 * options without an indexed field go to the repository unchanged. Searching through relations
 * (`where: { author: { email } }`) is not supported.
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

  /** Every matching row in the order asked for, unpaged. */
  private async matching(options: FindManyOptions<T>, branches: TranslatedBranch[]): Promise<T[]> {
    const { skip: _skip, take: _take, ...rest } = options;
    const select = withSearchedFields(options.select, branches);
    if (branches.length === 1) {
      const [branch] = branches;
      const rows = await this.repository.find({ ...rest, ...(select ? { select } : {}), where: branch!.where } as FindManyOptions<T>);
      return rows.filter((row) => passesChecks(this.cipher, row, branch!.checks));
    }
    // OR: the keys of each branch's matching rows, then the rows by key, in the order asked for.
    const metadata = this.repository.metadata;
    const keys = new Map<string, ObjectLiteral>();
    for (const branch of branches) {
      const keySelect = withSearchedFields(Object.fromEntries(metadata.primaryColumns.map((c) => [c.propertyName, true])) as FindManyOptions<T>['select'], [
        branch,
      ]);
      const candidates = await this.repository.find({ where: branch.where, select: keySelect, withDeleted: options.withDeleted } as FindManyOptions<T>);
      for (const row of candidates) {
        if (!passesChecks(this.cipher, row, branch.checks)) continue;
        const id = metadata.getEntityIdMap(row)!;
        keys.set(JSON.stringify(metadata.primaryColumns.map((c) => c.getEntityValue(row))), id);
      }
    }
    if (keys.size === 0) return [];
    const ids = [...keys.values()];
    const byKey =
      metadata.primaryColumns.length === 1
        ? { [metadata.primaryColumns[0]!.propertyName]: In(ids.map((id) => metadata.primaryColumns[0]!.getEntityValue(id))) }
        : ids;
    return this.repository.find({ ...rest, ...(select ? { select } : {}), where: byKey } as FindManyOptions<T>);
  }
}

/**
 * `select` with the searched encrypted fields added (the re-check reads them); undefined when the
 * options select every column anyway.
 */
function withSearchedFields<T>(select: FindManyOptions<T>['select'], branches: readonly TranslatedBranch[]): FindManyOptions<T>['select'] | undefined {
  if (select === undefined) return undefined;
  const paths = branches.flatMap((b) => b.checks.map((c) => c.sc.column.propertyPath));
  if (Array.isArray(select)) return [...new Set([...(select as string[]), ...paths])] as never;
  const out = structuredClone(select) as Record<string, unknown>;
  for (const path of paths) {
    const parts = path.split('.');
    let level = out;
    for (const part of parts.slice(0, -1))
      level = (level[part] = typeof level[part] === 'object' && level[part] !== null ? level[part] : {}) as Record<string, unknown>;
    level[parts.at(-1)!] = true;
  }
  return out as never;
}
