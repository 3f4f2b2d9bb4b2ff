// typeorm-sealed/nest on NestJS 11 (the devDependencies; the example app under examples/nest-app
// runs NestJS 12, see test/consumers/nest-app.test.ts): keys from an async provider inside
// TypeOrmModule.forRootAsync, the subscriber in its options, sealed repositories injected.
import { Inject, Injectable, Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getDataSourceToken, InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { Column, DataSource, Entity, PrimaryGeneratedColumn, type Repository } from 'typeorm';
import { Encrypted, generateKey, KeyRing, sealedSubscriber, type SealedError } from 'typeorm-sealed';
import { getSealedRepositoryToken, InjectSealedRepository, SealedTypeOrmModule } from 'typeorm-sealed/nest';

@Entity('nest_person')
class Person {
  @PrimaryGeneratedColumn() id!: number;
  @Column() name!: string;
  @Encrypted({ index: { normalize: ['trim', 'lowercase'] } }) email!: string;
}

/** A key provider: keys that arrive asynchronously, as from a secret manager. */
@Injectable()
class SealedKeys {
  readonly keys = new KeyRing({ active: generateKey() });
  readonly indexKeys = new KeyRing({ active: generateKey() });
  async load(): Promise<{ keys: KeyRing; indexKeys: KeyRing }> {
    await new Promise((resolve) => setImmediate(resolve));
    return { keys: this.keys, indexKeys: this.indexKeys };
  }
}

@Module({ providers: [SealedKeys], exports: [SealedKeys] })
class KeysModule {}

@Injectable()
class People {
  constructor(
    @InjectSealedRepository(Person) readonly sealed: Repository<Person>,
    @InjectRepository(Person) readonly plain: Repository<Person>,
  ) {}
}

/**
 * A DataSource named `name` (the default one without), with the sealed subscriber unless `sealed`
 * is false. The name goes into the options too: @nestjs/typeorm finds the DataSource to destroy
 * at shutdown by the options' name.
 */
function database(name?: string, sealed = true): DynamicModule {
  return TypeOrmModule.forRootAsync({
    ...(name ? { name } : {}),
    imports: [KeysModule],
    inject: [SealedKeys],
    useFactory: async (keys: SealedKeys) => ({
      ...(name ? { name } : {}),
      type: 'better-sqlite3',
      database: ':memory:',
      autoLoadEntities: true,
      synchronize: true,
      subscribers: sealed ? [sealedSubscriber(await keys.load())] : [],
    }),
  });
}

function boot(imports: DynamicModule[], providers: (new (...args: never[]) => object)[] = []): Promise<INestApplicationContext> {
  @Module({ imports, providers })
  class AppModule {}
  return NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
}

describe('SealedTypeOrmModule.forFeature and @InjectSealedRepository (NestJS 11)', () => {
  let app: INestApplicationContext | undefined;
  afterEach(async () => {
    const started = app;
    app = undefined;
    await started?.close();
  });

  it('injects a repository that searches the blind index, beside the plain one; values are sealed under the provider keys', async () => {
    app = await boot([database(), SealedTypeOrmModule.forFeature([Person])], [People]);
    const people = app.get(People);
    await people.plain.save([people.plain.create({ name: 'Ada', email: 'Ada@Example.com' }), people.plain.create({ name: 'Alan', email: 'alan@example.com' })]);
    expect(await people.sealed.findOneBy({ email: ' ADA@example.com' })).toMatchObject({ name: 'Ada', email: 'Ada@Example.com' });
    await expect(people.plain.findOneBy({ email: 'ada@example.com' })).rejects.toMatchObject({ code: 'SEALED_UNSUPPORTED_QUERY' });
    const keys = app.get(SealedKeys).keys;
    const stored: { email: string }[] = await app.get(DataSource).query('SELECT email FROM nest_person');
    for (const { email } of stored) expect(email).toMatch(new RegExp(`^sealed:1:x:${keys.activeKeyId}:`));
    expect(app.get(getSealedRepositoryToken(Person))).toBe(people.sealed);
  }, 30_000);

  it('takes the DataSource by name, as TypeOrmModule.forFeature does', async () => {
    @Injectable()
    class Archive {
      constructor(@Inject(getSealedRepositoryToken(Person, 'archive')) readonly people: Repository<Person>) {}
    }
    app = await boot([database(), database('archive'), SealedTypeOrmModule.forFeature([Person], 'archive')], [Archive]);
    const archive = app.get<DataSource>(getDataSourceToken('archive'));
    expect(app.get(Archive).people.manager.connection).toBe(archive);
    expect(archive).not.toBe(app.get(DataSource));
    expect(getSealedRepositoryToken(Person, 'archive')).not.toBe(getSealedRepositoryToken(Person));
  }, 30_000);

  it('stops the start with SEALED_CONFIG when the DataSource has no sealedSubscriber', async () => {
    const started = boot([database(undefined, false), SealedTypeOrmModule.forFeature([Person])], [People]);
    await expect(started).rejects.toMatchObject({ name: 'SealedError', code: 'SEALED_CONFIG' } satisfies Partial<SealedError>);
    await expect(started).rejects.toThrow(/no sealedSubscriber\(\.\.\.\) is registered on this DataSource/);
  }, 30_000);

  it('refuses what is not an array of entity classes', () => {
    expect(() => SealedTypeOrmModule.forFeature(['Person'] as never)).toThrow(
      /SEALED_CONFIG: SealedTypeOrmModule.forFeature\(entities\) takes an array of entity classes/,
    );
    expect(() => SealedTypeOrmModule.forFeature(Person as never)).toThrow(/SEALED_CONFIG/);
  });
});
