import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryGeneratedColumn, type DataSourceOptions } from 'typeorm';
import { EncryptionTransformer } from 'typeorm-encrypted';
import { Encrypted, generateKey, KeyRing, sealedSubscriber } from '../src';

/** The three fields every contender stores: about 20, 40 and 200 bytes. */
export interface Row {
  id: number;
  name: string;
  email: string;
  notes: string;
}

@Entity('bench_plain')
export class PlainRow implements Row {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) email!: string;
  @Column({ type: 'text' }) notes!: string;
}

@Entity('bench_sealed')
export class SealedRow implements Row {
  @PrimaryGeneratedColumn() id!: number;
  @Encrypted() name!: string;
  @Encrypted() email!: string;
  @Encrypted() notes!: string;
}

/** typeorm-encrypted's recommended transformer, with AES-256-GCM and a random IV per value. */
const te = new EncryptionTransformer({ key: Buffer.from(generateKey(), 'base64').toString('hex'), algorithm: 'aes-256-gcm', ivLength: 12 });

@Entity('bench_te')
export class TeRow implements Row {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'text', transformer: te }) name!: string;
  @Column({ type: 'text', transformer: te }) email!: string;
  @Column({ type: 'text', transformer: te }) notes!: string;
}

export type Dialect = 'sqlite' | 'postgres' | 'mariadb';
export type ContenderName = 'plain' | 'sealed' | 'typeorm-encrypted';
export const CONTENDERS: { name: ContenderName; entity: new () => Row }[] = [
  { name: 'plain', entity: PlainRow },
  { name: 'sealed', entity: SealedRow },
  { name: 'typeorm-encrypted', entity: TeRow },
];

export const BENCH_DATABASE = 'sealed_bench';

/** Connection options; SQLite is one file shared by the contenders' DataSources. */
export function connection(dialect: Dialect, sqliteFile: string): DataSourceOptions {
  switch (dialect) {
    case 'sqlite':
      return { type: 'better-sqlite3', database: sqliteFile };
    case 'postgres':
      return { type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database: BENCH_DATABASE };
    case 'mariadb':
      return { type: 'mariadb', host: '127.0.0.1', port: 3306, username: 'root', password: '', database: BENCH_DATABASE };
  }
}

/** Creates the benchmark database on a server. */
export async function ensureDatabase(dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') return;
  const admin = await new DataSource({ ...connection(dialect, ''), database: 'test' } as DataSourceOptions).initialize();
  try {
    if (dialect === 'mariadb') await admin.query(`CREATE DATABASE IF NOT EXISTS ${BENCH_DATABASE}`);
    else if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DATABASE])).length === 0)
      await admin.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  } finally {
    await admin.destroy();
  }
}

/**
 * One contender's DataSource: its own table, and for `sealed` the subscriber (as an application
 * would set it up, with an index key ring of its own for blind indexes).
 */
export function open(dialect: Dialect, sqliteFile: string, contender: ContenderName, entity: Function, extra: Function[] = []): Promise<DataSource> {
  const keys = new KeyRing({ active: generateKey() });
  const indexKeys = new KeyRing({ active: generateKey() });
  return new DataSource({
    ...connection(dialect, sqliteFile),
    entities: [entity, ...extra],
    subscribers: contender === 'sealed' ? [sealedSubscriber({ keys, indexKeys })] : [],
    synchronize: true,
  } as DataSourceOptions).initialize();
}
