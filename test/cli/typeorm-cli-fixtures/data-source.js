// The data source file given to TypeORM's own CLI: `typeorm migration:run -d data-source.js`. The
// CLI replaces `subscribers` with [] (and turns on query logging) before it initializes, so the
// migrations' KeyRotator.forMigration must find the keys from the sealedSubscriber made here.
// Environment: TYPEORM_SEALED_KEYS (the ring); SEALED_DRIVER (better-sqlite3 on TypeORM 1.x, sqlite
// on 0.3) and SEALED_DATABASE (the SQLite file); SEALED_MIGRATIONS=<n> lists the first n migrations
// (each `migration:run` of the test adds one); SEALED_SECOND_RING=1 configures a second, unused
// sealedSubscriber, so that the fallback to "the only one configured" must refuse to guess.
require('reflect-metadata');
const { DataSource } = require('typeorm');
const { KeyRing, sealedSubscriber } = require('typeorm-sealed');
const { Customer } = require('./entities');
const { CreateCustomers1732000000000 } = require('./migrations/1732000000000-create-customers');
const { EncryptCustomerPhone1732000000001 } = require('./migrations/1732000000001-encrypt-customer-phone');
const { RotateKeys1732000000002 } = require('./migrations/1732000000002-rotate-keys');
const { reportTypeormOnExit } = require('./typeorm-line');

reportTypeormOnExit();
const keys = KeyRing.fromEnv();
if (process.env.SEALED_SECOND_RING) sealedSubscriber({ keys });

module.exports = new DataSource({
  type: process.env.SEALED_DRIVER,
  database: process.env.SEALED_DATABASE,
  entities: [Customer],
  subscribers: [sealedSubscriber({ keys })],
  migrations: [CreateCustomers1732000000000, EncryptCustomerPhone1732000000001, RotateKeys1732000000002].slice(0, Number(process.env.SEALED_MIGRATIONS)),
});
