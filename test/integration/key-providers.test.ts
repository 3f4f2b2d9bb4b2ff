// Rings loaded by the key providers drive a DataSource like any other, on every dialect.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, generateSalt, keyFromPassphrase, KeyRing, keyRingFromCommand, keyRingFromFile, sealedRepository, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, testDialects } from './support/dialects';
import { Account, INDEXED_ENTITIES } from './support/indexed-entities';

describe.each(testDialects())('key providers on %s', (dialect) => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'sealed-providers-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('seals and searches with keys from a program, index keys from a file, and a passphrase key', async () => {
    const [key, indexKey] = [generateKey(), generateKey()];
    const passphraseKey = await keyFromPassphrase('a passphrase of some length', { salt: generateSalt(), logN: 15 });
    const keys = await keyRingFromCommand([process.execPath, '-e', `process.stdout.write(${JSON.stringify(`${key}\n`)})`]);
    const file = join(dir, 'index-keys');
    writeFileSync(file, `${indexKey}\n`);
    chmodSync(file, 0o600);
    const indexKeys = await keyRingFromFile(file);
    const withPassphrase = new KeyRing({ active: passphraseKey, decryptOnly: [key] });
    for (const ring of [keys, withPassphrase]) {
      const ds = await openDataSource(
        dialect,
        INDEXED_ENTITIES,
        [sealedSubscriber({ keys: ring, indexKeys })],
        join(dir, 'db.sqlite'),
        ring === keys ? {} : { dropSchema: false },
      );
      try {
        if (ring === keys) await ds.getRepository(Account).save({ login: 'p', email: 'p@example.com', backupEmail: null, contact: { phone: null } });
        const found = await sealedRepository(ds.getRepository(Account)).findOneBy({ email: 'p@example.com' });
        expect(found?.login).toBe('p');
        expect((await rawColumn(ds, 'sealed_account', 'email'))[0]).toMatch(new RegExp(`^sealed:1:x:${keys.activeKeyId}:`));
      } finally {
        await ds.destroy();
      }
    }
  });
});
