// TypeORM migrations that adopt encryption on an existing column and later rotate keys, on
// SQLite in a temporary file. Run with: npm run build && tsc -p tsconfig.examples.json && node build/examples/migrations.js
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { generateKey, KeyRing, KeyRotator, sealedSubscriber } from 'typeorm-sealed';
import { Customer } from './customer';
import { CreateCustomers1732000000000 } from './migrations/1732000000000-CreateCustomers';
import { EncryptCustomerPhone1732000000001 } from './migrations/1732000000001-EncryptCustomerPhone';
import { RotateKeys1732000000002 } from './migrations/1732000000002-RotateKeys';

/** Runs the example, printing through `log`. */
export async function main(log: (line: string) => void = console.log): Promise<void> {
  // Two DataSources share one database, as two deployments of the application would.
  const database = join(mkdtempSync(join(tmpdir(), 'sealed-migrations-')), 'app.sqlite');
  const dataSource = (keys: KeyRing, migrations: Function[]) =>
    new DataSource({ type: 'better-sqlite3', database, entities: [Customer], subscribers: [sealedSubscriber({ keys })], migrations }).initialize();
  const census = async (ds: DataSource) => (await new KeyRotator(ds).census()).columns[0]!;

  const oldKey = generateKey();
  const before = await dataSource(new KeyRing({ active: oldKey }), [CreateCustomers1732000000000, EncryptCustomerPhone1732000000001]);
  await before.runMigrations();
  log(`after EncryptCustomerPhone: ${JSON.stringify((await census(before)).byKeyId)}, plaintext ${(await census(before)).plaintext}`);

  // Later: a new key is deployed in front of the old one, and the rotation migration runs.
  const after = await dataSource(new KeyRing({ active: generateKey(), decryptOnly: [oldKey] }), [
    CreateCustomers1732000000000,
    EncryptCustomerPhone1732000000001,
    RotateKeys1732000000002,
  ]);
  await before.destroy();
  await after.runMigrations();
  const rotated = await census(after);
  log(`after RotateKeys: ${JSON.stringify(rotated.byKeyId)} (active ${(await new KeyRotator(after).census()).activeKeyId})`);
  log(`phones read back: ${(await after.getRepository(Customer).find({ order: { id: 'ASC' } })).map((c) => c.phone).join(', ')}`);
  await after.destroy();
  rmSync(dirname(database), { recursive: true, force: true });
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
