import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { KeyRing, keyRingFromFile, SealedError, sealedSubscriber } from 'typeorm-sealed';
import { UsersModule } from './users/users.module.js';

/**
 * The application, and what `typeorm-sealed -d dist/app.module.js` starts (without HTTP) to run
 * census, rotate or verify with this very configuration: no second data source file.
 */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }), // reads .env
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: async (config: ConfigService) => ({
        type: 'postgres',
        url: config.getOrThrow<string>('DATABASE_URL'),
        autoLoadEntities: true,
        synchronize: true, // an example: use migrations in production
        toRetry: (error: unknown) => !(error instanceof SealedError), // retry lost connections, not key errors
        subscribers: [
          sealedSubscriber({
            keys: KeyRing.fromString(config.getOrThrow<string>('TYPEORM_SEALED_KEYS')),
            indexKeys: await keyRingFromFile(config.getOrThrow<string>('TYPEORM_SEALED_INDEX_KEYS_FILE')),
          }),
        ],
      }),
    }),
    UsersModule,
  ],
})
export class AppModule {}
