// npm run demo: saves entities with encrypted columns on embedded SQLite, prints what is stored
// at rest and what the application reads back, and finds a row by an encrypted field.
import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted, generateKey, KeyRing, openRawRows, SealedError, sealedRepository, sealedSubscriber } from 'typeorm-sealed';

@Entity()
class Patient {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Encrypted()
  diagnosis!: string;

  @Encrypted({ nullable: true, valueType: 'date' })
  bornOn!: Date | null;

  @Encrypted({ valueType: 'json' })
  insurance!: { provider: string; policy: string };

  // Searchable by equality through a blind index (a keyed hash in the column emailBlindIndex).
  @Encrypted({ index: { normalize: ['trim', 'lowercase'] } })
  email!: string;
}

/** Runs the demo, printing through `log`. */
export async function main(log: (line: string) => void = console.log): Promise<void> {
  // In production the ring comes from the environment: TYPEORM_SEALED_KEYS="<active>,<older>..."
  const keys = process.env.TYPEORM_SEALED_KEYS ? KeyRing.fromEnv() : new KeyRing({ active: generateKey() });
  // Blind indexes have keys of their own: TYPEORM_SEALED_INDEX_KEYS="<active>,<older>..."
  const indexKeys = process.env.TYPEORM_SEALED_INDEX_KEYS ? KeyRing.fromEnv('TYPEORM_SEALED_INDEX_KEYS') : new KeyRing({ active: generateKey() });
  log(`key ring: ${JSON.stringify(keys)}, index key ring: ${JSON.stringify(indexKeys)}  (keys themselves never print)\n`);

  const dataSource = await new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    entities: [Patient],
    subscribers: [sealedSubscriber({ keys, indexKeys })],
    synchronize: true,
  }).initialize();
  const patients = dataSource.getRepository(Patient);

  await patients.save([
    { name: 'Ada', diagnosis: 'hypertension', bornOn: new Date('1815-12-10'), insurance: { provider: 'Acme', policy: 'A-1' }, email: 'ada@example.com' },
    { name: 'Alan', diagnosis: 'seasonal allergy', bornOn: null, insurance: { provider: 'Zenith', policy: 'Z-9' }, email: 'alan@example.com' },
  ]);

  log('At rest (plain SQL, no decryption):');
  const raw = await dataSource.query('SELECT id, name, diagnosis, bornOn FROM patient');
  for (const row of raw) log(`  ${row.id} ${row.name}\n    diagnosis: ${row.diagnosis}\n    bornOn:    ${row.bornOn}`);

  log('\nRead back through TypeORM:');
  for (const p of await patients.find({ order: { id: 'ASC' } })) {
    log(`  ${p.id} ${p.name}: ${p.diagnosis}, born ${p.bornOn?.toISOString().slice(0, 10) ?? 'unknown'}, insured by ${p.insurance.provider}`);
  }

  log('\nRaw rows opened with openRawRows():');
  const opened = openRawRows(dataSource, Patient, await dataSource.query('SELECT id, diagnosis FROM patient'));
  log(`  ${JSON.stringify(opened)}`);

  log('\nLookup by an encrypted field through its blind index (the SQL sees only index values):');
  const found = await sealedRepository(patients).findOneBy({ email: ' ADA@example.com' });
  const [{ emailBlindIndex }] = await dataSource.query('SELECT emailBlindIndex FROM patient WHERE id = ?', [found?.id]);
  log(`  sealedRepository(patients).findOneBy({ email: ' ADA@example.com' }) -> ${found?.id} ${found?.name} <${found?.email}>`);
  log(`  its stored index value: ${emailBlindIndex}`);

  log('\nA where condition on an encrypted column is refused instead of silently matching nothing:');
  try {
    await patients.findBy({ diagnosis: 'hypertension' });
  } catch (e) {
    if (!(e instanceof SealedError)) throw e;
    log(`  ${e.code}: ${e.entity}.${e.column}`);
  }

  log('\nA ciphertext moved into another column fails authentication:');
  await dataSource.query("UPDATE patient SET bornOn = diagnosis WHERE name = 'Ada'");
  try {
    await patients.findOneByOrFail({ name: 'Ada' });
  } catch (e) {
    if (!(e instanceof SealedError)) throw e;
    log(`  ${e.message}`);
  }

  await dataSource.destroy();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
