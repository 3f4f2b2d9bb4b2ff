import { Inject } from '@nestjs/common';
import { getRepositoryToken } from '@nestjs/typeorm';
import type { DataSource, DataSourceOptions } from 'typeorm';

/** An entity class, as `TypeOrmModule.forFeature` takes it (entity schemas are not supported by typeorm-sealed). */
export type EntityClass = abstract new (...args: never[]) => object;

/**
 * Which DataSource of the application: the name given to `TypeOrmModule.forRoot[Async]`, its
 * options, or the DataSource itself, as `@nestjs/typeorm` takes it. Default: the default one.
 */
export type DataSourceReference = DataSource | DataSourceOptions | string;

/**
 * The injection token of an entity's sealed repository (registered by
 * `SealedTypeOrmModule.forFeature`): `@nestjs/typeorm`'s repository token prefixed with
 * `typeorm-sealed:`, so it never collides with the plain repository.
 *
 * @example
 * ```ts
 * const users = app.get<Repository<User>>(getSealedRepositoryToken(User));
 * await users.findOneBy({ email: 'alice@example.com' });
 * ```
 */
export function getSealedRepositoryToken(entity: EntityClass, dataSource?: DataSourceReference): string {
  return `typeorm-sealed:${String(getRepositoryToken(entity, dataSource))}`;
}

/**
 * Injects the entity's repository wrapped by `sealedRepository()`: its `find*`, `count*` and
 * `exists*` methods take plaintext for fields with a blind index (`@Encrypted({ index })`).
 * Register it with `SealedTypeOrmModule.forFeature([Entity])`.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class UsersService {
 *   constructor(@InjectSealedRepository(User) private readonly users: Repository<User>) {}
 *   byEmail(email: string) {
 *     return this.users.findOneBy({ email }); // through the blind index
 *   }
 * }
 * ```
 */
export function InjectSealedRepository(entity: EntityClass, dataSource?: DataSourceReference): PropertyDecorator & ParameterDecorator {
  return Inject(getSealedRepositoryToken(entity, dataSource));
}
