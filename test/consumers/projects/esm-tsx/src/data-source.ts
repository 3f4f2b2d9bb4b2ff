import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { KeyRing, sealedSubscriber } from 'typeorm-sealed';
import { Note } from './note.js';

export default new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL,
  entities: [Note],
  synchronize: true,
  subscribers: [sealedSubscriber({ keys: KeyRing.fromEnv() })],
});
