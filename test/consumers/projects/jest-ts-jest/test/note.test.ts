import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { generateKey, KeyRing, sealedSubscriber } from 'typeorm-sealed';
import { Note } from '../src/note';

const dataSource = new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL,
  entities: [Note],
  synchronize: true,
  subscribers: [sealedSubscriber({ keys: new KeyRing({ active: generateKey() }) })],
});

beforeAll(() => dataSource.initialize(), 30_000);
afterAll(() => dataSource.destroy(), 30_000);

it('stores an @Encrypted field sealed and reads it back', async () => {
  const notes = dataSource.getRepository(Note);
  const saved = await notes.save(notes.create({ title: 'jest', body: 'a secret body' }));
  const [row] = await dataSource.query('SELECT body FROM jest_consumer_note WHERE id = $1', [saved.id]);
  expect(row.body).toMatch(/^sealed:1:x:/);
  expect(row.body).not.toContain('secret');
  expect((await notes.findOneByOrFail({ id: saved.id })).body).toBe('a secret body');
}, 30_000);
