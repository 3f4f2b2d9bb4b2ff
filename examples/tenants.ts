// Per-tenant keys in a key vault, on embedded SQLite: data keys live wrapped in sealed_data_keys
// under a master key the database never sees; each tenant gets its own key at its first write;
// rewrapping under a new master key touches no data row; shredding one tenant's keys erases its
// data while the other tenant reads on. Run with: npm run build && tsc -p tsconfig.examples.json && node build/examples/tenants.js
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { Encrypted, generateKey, KeyRing, KeyVault, localKeyWrapper, SealedDataKeys, SealedError, sealedSubscriber } from 'typeorm-sealed';

@Entity()
class Invoice {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  tenantId!: string;

  // Sealed under the tenant's own data key, with the tenant bound into the associated data.
  @Encrypted({ scope: 'tenantId' })
  customer!: string;

  @Column({ type: 'integer' })
  cents!: number;
}

/** Runs the example, printing through `log`. */
export async function main(log: (line: string) => void = console.log): Promise<void> {
  // In production: localKeyWrapper(KeyRing.fromEnv('TYPEORM_SEALED_MASTER_KEYS')), or commandKeyWrapper for a KMS.
  const master = generateKey();
  // a file, since this example opens the database several times, as restarted processes would
  const dir = mkdtempSync(join(tmpdir(), 'typeorm-sealed-tenants-'));
  const open = async (masterKeys: string, shreddedAsNull = false) => {
    const vault = new KeyVault({ wrapper: localKeyWrapper(KeyRing.fromString(masterKeys)) });
    const dataSource = new DataSource({
      type: 'better-sqlite3',
      database: join(dir, 'tenants.sqlite'),
      entities: [Invoice, SealedDataKeys],
      subscribers: [sealedSubscriber({ keys: vault, shreddedAsNull })],
      synchronize: true,
    });
    await dataSource.initialize();
    await vault.load(dataSource); // the first load creates the default scope's data key
    return { dataSource, vault };
  };
  const { dataSource, vault } = await open(master);
  const invoices = dataSource.getRepository(Invoice);
  await invoices.save([
    { tenantId: 'acme', customer: 'Wile E. Coyote', cents: 12_000 },
    { tenantId: 'globex', customer: 'Hank Scorpio', cents: 99_000 },
  ]);
  for (const key of await vault.list()) log(`data key ${key.keyId}: scope ${key.scope || '(default)'}, ${key.state}, wrapped by ${key.wrappedBy}`);
  for (const row of await dataSource.query('SELECT tenantId, customer FROM invoice ORDER BY id')) log(`at rest: ${row.tenantId} ${row.customer}`);

  // Rotating the master key rewraps the few key rows; no invoice row changes.
  const rowsHash = async () =>
    createHash('sha256')
      .update(JSON.stringify(await dataSource.query('SELECT * FROM invoice ORDER BY id')))
      .digest('hex')
      .slice(0, 16);
  const before = await rowsHash();
  const newMaster = generateKey();
  const rewrapping = new KeyVault({ wrapper: localKeyWrapper(KeyRing.fromString(`${newMaster},${master}`)) });
  const report = await (await rewrapping.load(dataSource)).rewrap();
  log(`rewrap: ${report.rewrapped.length} data keys rewrapped by ${report.wrappedBy}; invoice rows ${before === (await rowsHash()) ? 'unchanged' : 'CHANGED'}`);
  await dataSource.destroy();

  // Erasing one tenant: shred its keys. Its rows fail to open; the other tenant's read on.
  const after = await open(newMaster);
  const shredded = await after.vault.shredScope('acme');
  log(`shredded scope acme: ${shredded.map((k) => k.keyId).join(', ')}`);
  for (const tenantId of ['acme', 'globex']) {
    try {
      const invoice = await after.dataSource.getRepository(Invoice).findOneByOrFail({ tenantId });
      log(`${tenantId}: ${invoice.customer}, ${invoice.cents / 100} USD`);
    } catch (e) {
      if (!(e instanceof SealedError)) throw e;
      log(`${tenantId}: ${e.code}`);
    }
  }
  await after.dataSource.destroy();
  const lenient = await open(newMaster, true);
  const all = await lenient.dataSource.getRepository(Invoice).find({ order: { id: 'ASC' } });
  log(`with shreddedAsNull: ${all.map((i) => `${i.tenantId}=${i.customer}`).join(', ')}`);
  await lenient.dataSource.destroy();
  rmSync(dir, { recursive: true, force: true });
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
