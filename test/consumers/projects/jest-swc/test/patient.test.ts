import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { generateKey, KeyRing, sealedRepository, sealedSubscriber } from 'typeorm-sealed';
import { Patient } from '../src/patient';

const dataSource = new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL,
  entities: [Patient],
  synchronize: true,
  subscribers: [sealedSubscriber({ keys: new KeyRing({ active: generateKey() }), indexKeys: new KeyRing({ active: generateKey() }) })],
});

beforeAll(() => dataSource.initialize(), 30_000);
afterAll(() => dataSource.destroy(), 30_000);

it('finds a patient by an encrypted email and reads the encrypted date back', async () => {
  const patients = sealedRepository(dataSource.getRepository(Patient));
  await patients.clear();
  await patients.save(patients.create({ ward: 'B', email: 'ann@example.com', bornOn: new Date('1990-02-03T00:00:00Z') }));
  const [row] = await dataSource.query('SELECT email, "bornOn" FROM jest_consumer_patient');
  expect([row.email, row.bornOn]).toEqual([expect.stringMatching(/^sealed:1:x:/), expect.stringMatching(/^sealed:1:x:/)]);
  const found = await patients.findOneByOrFail({ email: 'ann@example.com' });
  expect(found.bornOn).toEqual(new Date('1990-02-03T00:00:00Z'));
}, 30_000);
