import { Module, type DynamicModule, type FactoryProvider } from '@nestjs/common';
import { getRepositoryToken, TypeOrmModule } from '@nestjs/typeorm';
import type { ObjectLiteral, Repository } from 'typeorm';
import { SealedError } from '../errors';
import { sealedRepository } from '../typeorm/sealed-repository';
import { getSealedRepositoryToken, type DataSourceReference, type EntityClass } from './sealed-repository-token';

/**
 * `TypeOrmModule.forFeature` with sealed repositories: use it where you would use that.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [SealedTypeOrmModule.forFeature([User])],
 *   providers: [UsersService], // @InjectSealedRepository(User), and @InjectRepository(User) as before
 * })
 * export class UsersModule {}
 * ```
 */
@Module({})
export class SealedTypeOrmModule {
  /**
   * Registers the entities as `TypeOrmModule.forFeature(entities, dataSource)` does (so
   * `autoLoadEntities` finds them and `@InjectRepository` works), and for each one a repository
   * wrapped by `sealedRepository()`, injected with `@InjectSealedRepository(Entity)`. It is made
   * when the application starts, after the DataSource is initialized: a DataSource without a
   * `sealedSubscriber` stops the start with `SEALED_CONFIG`.
   *
   * @param entities entity classes
   * @param dataSource which DataSource (its name, options or itself). Default: the default one.
   */
  static forFeature(entities: readonly EntityClass[], dataSource?: DataSourceReference): DynamicModule {
    if (!Array.isArray(entities) || !entities.every((entity) => typeof entity === 'function')) {
      throw new SealedError('SEALED_CONFIG', 'SealedTypeOrmModule.forFeature(entities) takes an array of entity classes');
    }
    const typeOrm = TypeOrmModule.forFeature([...entities], dataSource);
    const repositories = entities.map((entity): FactoryProvider<Repository<ObjectLiteral>> => ({
      provide: getSealedRepositoryToken(entity, dataSource),
      useFactory: (repository: Repository<ObjectLiteral>) => sealedRepository(repository),
      inject: [getRepositoryToken(entity, dataSource)],
    }));
    return { module: SealedTypeOrmModule, imports: [typeOrm], providers: repositories, exports: [typeOrm, ...repositories] };
  }
}
