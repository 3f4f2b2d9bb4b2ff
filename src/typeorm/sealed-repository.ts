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
import { SealedError } from '../errors';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import { sealedColumnsOf } from '../metadata/column-plan';
import { comparesEncrypted, passesChecks, translateWhere, type TranslatedBranch } from './sealed-where';

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
  fieldCipherOf(dataSourceOf(repository.manager)); // refuse a DataSource without a sealed subscriber now
  // The repository's own methods; each call runs on the repository it is called on (`this`), which
  // `manager.withRepository()` binds to a transaction.
  const base = Object.getPrototypeOf(repository) as Repository<T>;
  const search = (repo: Repository<T>) => new SealedSearch(repo, base, fieldCipherOf(dataSourceOf(repo.manager)));
  async function findOne(this: Repository<T>, options: FindOneOptions<T>) {
    return (await search(this).find({ ...options, take: 1 }))[0] ?? null;
  }
  async function orFail(this: Repository<T>, options: FindOneOptions<T>) {
    const found = await findOne.call(this, options);
    if (found === null) throw new EntityNotFoundError(this.target, search(this).redacted(options.where));
    return found;
  }
  const methods: Record<string, unknown> = {
    find(this: Repository<T>, options: FindManyOptions<T> = {}) {
      return search(this).find(options);
    },
    findBy(this: Repository<T>, where: Where<T>) {
      return search(this).find({ where });
    },
    findOne,
    findOneBy(this: Repository<T>, where: Where<T>) {
      return findOne.call(this, { where });
    },
    findOneOrFail: orFail,
    findOneByOrFail(this: Repository<T>, where: Where<T>) {
      return orFail.call(this, { where });
    },
    findAndCount(this: Repository<T>, options: FindManyOptions<T> = {}) {
      return search(this).findAndCount(options);
    },
    findAndCountBy(this: Repository<T>, where: Where<T>) {
      return search(this).findAndCount({ where });
    },
    count(this: Repository<T>, options: FindManyOptions<T> = {}) {
      return search(this).count(options);
    },
    countBy(this: Repository<T>, where: Where<T>) {
      return search(this).count({ where });
    },
    exists(this: Repository<T>, options: FindManyOptions<T> = {}) {
      return search(this).exists(options);
    },
    existsBy(this: Repository<T>, where: Where<T>) {
      return search(this).exists({ where });
    },
  };
  // TypeORM 0.3 also has the older name `exist`.
  if (typeof (repository as { exist?: unknown }).exist === 'function') methods.exist = methods.exists;
  // Methods whose criteria would send a value to SQL that the query guard then refuses (after
  // TypeORM has logged it): refused before any SQL when the criteria compare an encrypted field.
  for (const [name, at] of CRITERIA_METHODS) {
    const own = (base as unknown as Record<string, unknown>)[name];
    if (typeof own !== 'function') continue;
    methods[name] = async function (this: Repository<T>, ...args: unknown[]) {
      refuseEncryptedCriteria(this.metadata, name, args[at]);
      return (own as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  return repository.extend(methods as never) as Repository<T>;
}

/** Repository methods that take criteria, and the position of the criteria argument. */
const CRITERIA_METHODS: readonly (readonly [string, number])[] = [
  ['update', 0],
  ['delete', 0],
  ['softDelete', 0],
  ['restore', 0],
  ['increment', 0],
  ['decrement', 0],
  ['sum', 1],
  ['average', 1],
  ['minimum', 1],
  ['maximum', 1],
];

/** `SEALED_UNSUPPORTED_QUERY` when criteria (an object or an array of them) compare an encrypted field with a value. */
function refuseEncryptedCriteria(metadata: EntityMetadata, method: string, criteria: unknown): void {
  const wheres = Array.isArray(criteria) ? criteria : [criteria];
  if (!wheres.some((where) => comparesEncrypted(metadata, where))) return;
  throw new SealedError(
    'SEALED_UNSUPPORTED_QUERY',
    `${method}() with an encrypted field in its criteria would send the value to SQL: find the rows with this repository's find methods first, then ${method}() them by primary key`,
    { entity: metadata.name },
  );
}

/** How {@link sealedRepository} answers a search: candidates from the database, re-checked after decryption. */
class SealedSearch<T extends ObjectLiteral> {
  constructor(
    /** The repository the method was called on. */
    private readonly repository: Repository<T>,
    /** The repository's own methods (without sealedRepository's), called on `repository`. */
    private readonly base: Repository<T>,
    private readonly cipher: FieldCipher,
  ) {}

  async find(options: FindManyOptions<T>): Promise<T[]> {
    const branches = this.translate(options.where);
    if (!branches) return this.base.find.call(this.repository, options);
    return page(await this.matching(options, branches), options);
  }

  async findAndCount(options: FindManyOptions<T>): Promise<[T[], number]> {
    const branches = this.translate(options.where);
    if (!branches) return this.base.findAndCount.call(this.repository, options);
    const rows = await this.matching(options, branches);
    return [page(rows, options), rows.length];
  }

  async exists(options: FindManyOptions<T>): Promise<boolean> {
    const branches = this.translate(options.where);
    return branches ? (await this.matching(options, branches)).length > 0 : this.base.exists.call(this.repository, options);
  }

  async count(options: FindManyOptions<T>): Promise<number> {
    const branches = this.translate(options.where);
    return branches ? (await this.matching(options, branches)).length : this.base.count.call(this.repository, options);
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
    // OR: the rows are matched to each branch's matches by key, so the key is selected too
    const keyColumns = branches.length > 1 ? metadata.primaryColumns : [];
    const searched = [...new Set([...branches.flatMap((b) => b.checks.map((c) => c.sc.column)), ...keyColumns])];
    const { select, added } = selectForCheck(metadata, options.select, searched);
    const where = branches.length === 1 ? branches[0]!.where : branches.map((b) => b.where);
    const rows = await this.base.find.call(this.repository, { ...rest, ...(select ? { select } : {}), where } as FindManyOptions<T>);
    let matches: T[];
    if (branches.length === 1) {
      matches = rows.filter((row) => passesChecks(this.cipher, row, branches[0]!.checks));
    } else {
      const keys = new Set<string>();
      for (const branch of branches) {
        const columns = [...new Set(branch.checks.map((c) => c.sc.column))];
        const keySelect = selectForCheck(
          metadata,
          selectOf(
            metadata.primaryColumns.map((c) => c.propertyPath),
            {},
          ) as never,
          columns,
        ).select;
        const candidates = await this.base.find.call(this.repository, {
          where: branch.where,
          select: keySelect,
          withDeleted: options.withDeleted,
        } as FindManyOptions<T>);
        for (const row of candidates) if (passesChecks(this.cipher, row, branch.checks)) keys.add(keyOf(metadata, row));
      }
      matches = rows.filter((row) => keys.has(keyOf(metadata, row)));
    }
    for (const row of matches) for (const column of added) dropField(row, column);
    return matches;
  }
}

/** The page `skip` and `take` ask for. */
function page<T>(rows: T[], options: { skip?: unknown; take?: unknown }): T[] {
  const skip = count(options.skip, 'skip') ?? 0;
  const take = count(options.take, 'take');
  return rows.slice(skip, take === undefined ? undefined : skip + take);
}

/** `skip` or `take` as a number: absent for undefined and null (as TypeORM reads them), a non-negative integer (also written as a string), else refused. */
function count(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new SealedError('SEALED_UNSUPPORTED_QUERY', `${name} must be a non-negative integer`);
  return n;
}

/** A row's primary key as one string, to compare rows of two queries. */
function keyOf(metadata: EntityMetadata, row: ObjectLiteral): string {
  return metadata.primaryColumns
    .map((c) => {
      const value: unknown = c.getEntityValue(row);
      if (value instanceof Date) return `date:${value.getTime()}`;
      if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString('hex')}`;
      return `${typeof value}:${String(value)}`;
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
  const path: ObjectLiteral[] = [row];
  for (const name of column.embeddedMetadata?.parentPropertyNames ?? []) {
    const next: unknown = path.at(-1)![name];
    if (typeof next !== 'object' || next === null) return;
    path.push(next as ObjectLiteral);
  }
  delete path.at(-1)![column.propertyName];
  // embedded objects that held nothing else were made for the dropped field: remove them too
  const names = column.embeddedMetadata?.parentPropertyNames ?? [];
  for (let i = path.length - 1; i > 0 && Object.keys(path[i]!).length === 0; i--) delete path[i - 1]![names[i - 1]!];
}
