// Encrypted columns in an EntitySchema (no decorators), and the startup key id check: a process
// restarted with a key ring that lacks the key the data is under fails at initialize(), naming
// the column and the key, instead of at the first read. On embedded SQLite (a temporary file).
// Run with: npm run build && tsc -p tsconfig.examples.json && node build/examples/entity-schema.js
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { encryptedColumn, generateKey, KeyRing, SealedError, sealedEntitySchema, sealedRepository, sealedSubscriber } from 'typeorm-sealed';

interface Patient {
  id: number;
  name: string;
  email: string;
  bornOn: Date;
}

const PatientSchema = sealedEntitySchema<Patient>({
  name: 'Patient',
  columns: {
    id: { type: Number, primary: true, generated: true },
    name: { type: String },
    email: encryptedColumn({ index: { normalize: ['trim', 'lowercase'], unique: true } }), // adds emailBlindIndex
    bornOn: encryptedColumn({ valueType: 'date' }), // a schema has no property types: name the value type
  },
});

/** Runs the example, printing through `log`. */
export async function main(log: (line: string) => void = console.log): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sealed-example-'));
  const open = (keys: KeyRing, indexKeys: KeyRing) =>
    new DataSource({
      type: 'better-sqlite3',
      database: join(dir, 'clinic.sqlite'),
      entities: [PatientSchema],
      subscribers: [sealedSubscriber({ keys, indexKeys, checkKeyIds: true })],
      synchronize: true,
    }).initialize();
  try {
    const [key, indexKey] = [generateKey(), generateKey()];
    const indexKeys = new KeyRing({ active: indexKey });
    const dataSource = await open(new KeyRing({ active: key }), indexKeys);
    const patients = dataSource.getRepository(PatientSchema);
    await patients.save({ name: 'Ada', email: 'Ada@Example.com', bornOn: new Date('1815-12-10') });
    const found = await sealedRepository(patients).findOneByOrFail({ email: ' ada@example.com' });
    log(`found by e-mail: ${found.name}, born ${found.bornOn.toISOString().slice(0, 10)}`);
    const [row] = await dataSource.query('SELECT email FROM patient');
    log(`at rest: ${String(row.email).slice(0, 28)}...`);
    await dataSource.destroy();

    log('\nRestarted with a new key ring that forgot the old key:');
    try {
      await open(new KeyRing({ active: generateKey() }), indexKeys);
    } catch (e) {
      if (!(e instanceof SealedError)) throw e;
      log(`  initialize() failed: ${e.message}`);
    }
    log('Restarted with the old key kept as a decrypt-only key:');
    const fixed = await open(new KeyRing({ active: generateKey(), decryptOnly: [key] }), indexKeys);
    log(`  initialize() succeeded; ${(await fixed.getRepository(PatientSchema).findOneByOrFail({ name: 'Ada' })).email}`);
    await fixed.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
