// No sealedSubscriber is ever created in this file (jest isolates modules per file), as in an
// application that forgot to register it.
import type { DataSource } from 'typeorm';
import { openDataSource, rawColumn, testDialects } from './support/dialects';
import { ENTITIES, User } from './support/entities';

describe.each(testDialects())('without a sealedSubscriber on %s', (dialect) => {
  let ds: DataSource;
  beforeAll(async () => {
    ds = await openDataSource(dialect, ENTITIES, []);
  });
  afterAll(() => ds?.destroy());

  it('refuses to write plaintext into an encrypted column', async () => {
    await expect(ds.getRepository(User).save({ login: 'forgot', email: 'forgot@example.com' })).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      entity: 'User',
      column: 'email',
      message: expect.stringContaining('no sealedSubscriber'),
    });
    await expect(ds.getRepository(User).insert({ login: 'forgot', email: 'forgot@example.com' })).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
    expect(await rawColumn(ds, 'sealed_user', 'email')).toEqual([]);
  });

  it('refuses to hand stored values to the application', async () => {
    const q = (name: string) => ds.driver.escape(name);
    await ds.query(`INSERT INTO ${q('sealed_user')} (${q('login')}, ${q('email')}) VALUES ('raw', 'sealed:1:x:00000000:AAAA')`);
    await expect(ds.getRepository(User).find()).rejects.toMatchObject({ code: 'SEALED_CONFIG', column: 'email' });
  });
});
