// Reads the customers back through typeorm-sealed on whichever TypeORM this process runs (run it
// from the same project as the CLI), and prints as JSON: the phones as the entity reads them, the
// raw stored values, KeyRotator.verify's status, and the TypeORM versions loaded.
// Environment: TYPEORM_SEALED_KEYS, SEALED_DRIVER, SEALED_DATABASE (as data-source.js).
require('reflect-metadata');
const { DataSource } = require('typeorm');
const { KeyRing, KeyRotator, sealedSubscriber } = require('typeorm-sealed');
const { Customer } = require('./entities');
const { loadedTypeormVersions } = require('./typeorm-line');

async function main() {
  const ds = await new DataSource({
    type: process.env.SEALED_DRIVER,
    database: process.env.SEALED_DATABASE,
    entities: [Customer],
    subscribers: [sealedSubscriber({ keys: KeyRing.fromEnv() })],
  }).initialize();
  try {
    const customers = await ds.getRepository(Customer).find({ order: { id: 'ASC' } });
    const raw = await ds.query('SELECT phone FROM customer ORDER BY id');
    const verify = await new KeyRotator(ds).verify();
    console.log(
      JSON.stringify({
        typeorm: loadedTypeormVersions(),
        phones: customers.map((c) => c.phone),
        stored: raw.map((r) => r.phone),
        verify: verify.status,
      }),
    );
  } finally {
    await ds.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
