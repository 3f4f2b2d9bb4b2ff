// Adopting encryption on a column that already holds plaintext: read it through
// plaintextPassthrough, seal rows as they are written, count what is left with SQL alone, and
// seal the rest with KeyRotator.encryptExisting().
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { generateKey, KeyRing, KeyRotator, sealedSubscriber } from 'typeorm-sealed';
import { Customer } from './customer';

/** Runs the example, printing through `log`. */
export async function main(log: (line: string) => void = console.log): Promise<void> {
  const keys = new KeyRing({ active: generateKey() });
  const dataSource = await new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    entities: [Customer],
    // Only while migrating: without it a plaintext value fails with SEALED_PLAINTEXT.
    subscribers: [sealedSubscriber({ keys, plaintextPassthrough: true })],
    synchronize: true,
  }).initialize();

  // Rows written before encryption was turned on:
  await dataSource.query("INSERT INTO customer (name, phone) VALUES ('Grace', '+1 555 0100'), ('Linus', '+358 40 123')");
  const count = async () =>
    (
      await dataSource.query(
        `SELECT SUM(CASE WHEN phone LIKE 'sealed:1:x:${keys.activeKeyId}:%' THEN 1 ELSE 0 END) AS sealed,
              SUM(CASE WHEN phone NOT LIKE 'sealed:%' THEN 1 ELSE 0 END) AS plaintext FROM customer`,
      )
    )[0];
  log(`before: ${JSON.stringify(await count())}`);

  const customers = dataSource.getRepository(Customer);
  const grace = await customers.findOneByOrFail({ name: 'Grace' });
  log(`legacy value reads as it is: ${grace.phone}`);
  grace.name = 'Grace H.'; // any update of the row seals its legacy values
  await customers.save(grace);
  await customers.save({ name: 'Ken', phone: '+1 555 0199' }); // new rows are sealed
  log(`after:  ${JSON.stringify(await count())}`);
  const report = await new KeyRotator(dataSource).encryptExisting(); // the rest, in bulk
  log(`encryptExisting: ${report.status}, ${report.columns[0]!.rewritten} sealed; now: ${JSON.stringify(await count())}`);
  log('(plaintextPassthrough can be turned off now)');
  await dataSource.destroy();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
