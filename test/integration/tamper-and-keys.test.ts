import type { DataSource } from 'typeorm';
import { generateKey, KeyRing, SealedError, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects } from './support/dialects';
import { ENTITIES, Note, User } from './support/entities';

const oldKey = generateKey();
const newKey = generateKey();
const oldRing = new KeyRing({ active: oldKey });
/** After a rotation: the new key seals, the old one still opens. */
const ring = new KeyRing({ active: newKey, decryptOnly: [oldKey] });
const strangerRing = new KeyRing({ active: generateKey() });

/** An envelope of `sealed_user.email` under another ring, made on a scratch SQLite database. */
async function emailSealedUnder(keys: KeyRing, email: string): Promise<string> {
  const scratch = await openDataSource('sqlite', ENTITIES, [sealedSubscriber({ keys })]);
  try {
    await scratch.getRepository(User).save({ login: 'scratch', email });
    return ((await rawColumn(scratch, 'sealed_user', 'email')) as string[])[0]!;
  } finally {
    await scratch.destroy();
  }
}

describe.each(testDialects())('tampering, keys and plaintext on %s', (dialect) => {
  let ds: DataSource;
  let userId: number;
  const byLogin = (login: string) => ({ column: 'login', value: login });

  /** Stores a fresh user and returns its id. */
  async function fresh(login: string): Promise<number> {
    return (await ds.getRepository(User).save(ds.getRepository(User).create({ login, email: `${login}@example.com` }))).id;
  }

  /** Loads the user and returns the SealedError the load raises. */
  async function loadError(id: number, on: DataSource = ds): Promise<SealedError> {
    const error = await on
      .getRepository(User)
      .findOneBy({ id })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SealedError);
    expect((error as Error).message).not.toMatch(/@example\.com/);
    return error as SealedError;
  }

  beforeAll(async () => {
    ds = await openDataSource(dialect, ENTITIES, [sealedSubscriber({ keys: ring })]);
    userId = await fresh('victim');
  });
  afterAll(() => ds?.destroy());

  it('a flipped character in the body fails as SEALED_TAMPERED', async () => {
    const id = await fresh('flip');
    const [envelope] = (await rawColumn(ds, 'sealed_user', 'email', byLogin('flip'))) as string[];
    const i = envelope!.length - 10;
    const flipped = envelope!.slice(0, i) + (envelope![i] === 'A' ? 'B' : 'A') + envelope!.slice(i + 1);
    await rawUpdate(ds, 'sealed_user', 'email', flipped, byLogin('flip'));
    expect(await loadError(id)).toMatchObject({ code: 'SEALED_TAMPERED', entity: 'User', column: 'email', primaryKey: `id=${id}`, keyId: ring.activeKeyId });
  });

  it('a truncated value fails as SEALED_TAMPERED, or SEALED_MALFORMED when too short to be one', async () => {
    const id = await fresh('truncate');
    const [envelope] = (await rawColumn(ds, 'sealed_user', 'email', byLogin('truncate'))) as string[];
    // cut to a whole number of base64 groups, so that the body stays canonical base64url
    await rawUpdate(ds, 'sealed_user', 'email', envelope!.slice(0, envelope!.length - 4 - ((envelope!.length - 20) % 4)), byLogin('truncate'));
    expect(await loadError(id)).toMatchObject({ code: 'SEALED_TAMPERED', column: 'email' });
    await rawUpdate(ds, 'sealed_user', 'email', envelope!.slice(0, 40), byLogin('truncate'));
    expect(await loadError(id)).toMatchObject({ code: 'SEALED_MALFORMED', column: 'email' });
  });

  it('a value moved to another column or another table fails as SEALED_TAMPERED', async () => {
    const id = await fresh('moved');
    const [email] = (await rawColumn(ds, 'sealed_user', 'email', byLogin('moved'))) as string[];
    await rawUpdate(ds, 'sealed_user', 'addressStreet', email, byLogin('moved'));
    expect(await loadError(id)).toMatchObject({ code: 'SEALED_TAMPERED', column: 'address.street' });

    const other = await fresh('moved-table');
    const note = await ds.getRepository(Note).save({ body: 'note body', author: null });
    const [body] = (await rawColumn(ds, 'sealed_note', 'body', { column: 'id', value: note.id })) as string[];
    await rawUpdate(ds, 'sealed_user', 'email', body, byLogin('moved-table'));
    expect(await loadError(other)).toMatchObject({ code: 'SEALED_TAMPERED', column: 'email' });
  });

  it('a missing or invalid key id fails as SEALED_MALFORMED', async () => {
    const id = await fresh('no-key-id');
    const [envelope] = (await rawColumn(ds, 'sealed_user', 'email', byLogin('no-key-id'))) as string[];
    const withoutId = envelope!.replace(/^sealed:1:x:[0-9a-f]{8}:/, 'sealed:1:x::');
    await rawUpdate(ds, 'sealed_user', 'email', withoutId, byLogin('no-key-id'));
    const error = await loadError(id);
    expect(error).toMatchObject({ code: 'SEALED_MALFORMED', column: 'email' });
    expect(error.message).toContain('no valid key id');
  });

  it('values under a key the ring lacks fail as SEALED_WRONG_KEY naming the key id', async () => {
    const id = await fresh('wrong-key');
    await rawUpdate(ds, 'sealed_user', 'email', await emailSealedUnder(strangerRing, 'foreign@example.com'), byLogin('wrong-key'));
    const error = await loadError(id);
    expect(error).toMatchObject({ code: 'SEALED_WRONG_KEY', column: 'email', keyId: strangerRing.activeKeyId });
    expect(error.message).toContain(ring.activeKeyId); // says which keys the ring holds
  });

  it('decrypt-only keys open old values; the next write seals under the active key', async () => {
    const id = await fresh('rotating');
    const underOld = await emailSealedUnder(oldRing, 'under-old@example.com');
    expect(underOld.startsWith(`sealed:1:x:${oldRing.activeKeyId}:`)).toBe(true);
    await rawUpdate(ds, 'sealed_user', 'email', underOld, byLogin('rotating'));
    const loaded = await ds.getRepository(User).findOneByOrFail({ id });
    expect(loaded.email).toBe('under-old@example.com');
    loaded.email = 'under-new@example.com';
    await ds.getRepository(User).save(loaded);
    const [stored] = (await rawColumn(ds, 'sealed_user', 'email', byLogin('rotating'))) as string[];
    expect(stored!.startsWith(`sealed:1:x:${ring.activeKeyId}:`)).toBe(true);
    expect((await ds.getRepository(User).findOneByOrFail({ id })).email).toBe('under-new@example.com');
  });

  it('an update of the row re-seals unchanged fields stored under an older key', async () => {
    const id = await fresh('stale');
    await rawUpdate(ds, 'sealed_user', 'email', await emailSealedUnder(oldRing, 'stale@example.com'), byLogin('stale'));
    const loaded = await ds.getRepository(User).findOneByOrFail({ id });
    loaded.login = 'stale-renamed'; // only a plain column changes
    await ds.getRepository(User).save(loaded);
    const [stored] = (await rawColumn(ds, 'sealed_user', 'email', byLogin('stale-renamed'))) as string[];
    expect(stored!.startsWith(`sealed:1:x:${ring.activeKeyId}:`)).toBe(true);
    expect(loaded.email).toBe('stale@example.com');
    expect((await ds.getRepository(User).findOneByOrFail({ id })).email).toBe('stale@example.com');
  });

  it('plaintext at rest fails closed with SEALED_PLAINTEXT by default', async () => {
    await rawUpdate(ds, 'sealed_user', 'email', 'legacy@example.com', { column: 'id', value: userId });
    expect(await loadError(userId)).toMatchObject({ code: 'SEALED_PLAINTEXT', entity: 'User', column: 'email', primaryKey: `id=${userId}` });
  });
});

describe.each(testDialects())('plaintext passthrough on %s', (dialect) => {
  let ds: DataSource;

  beforeAll(async () => {
    ds = await openDataSource(dialect, ENTITIES, [sealedSubscriber({ keys: oldRing, plaintextPassthrough: true })]);
  });
  afterAll(() => ds?.destroy());

  it('reads legacy plaintext as the declared types and seals it on the next update of the row', async () => {
    const q = (name: string) => ds.driver.escape(name);
    const p = (i: number) => (ds.driver.options.type === 'postgres' ? `$${i}` : '?');
    await ds.query(
      `INSERT INTO ${q('sealed_user')} (${['login', 'email', 'score', 'balance', 'verified', 'birthday', 'settings'].map(q).join(', ')}) ` +
        `VALUES (${[1, 2, 3, 4, 5, 6, 7].map(p).join(', ')})`,
      ['legacy', 'legacy@example.com', '42.5', '9007199254740993', 'true', '2000-01-02T03:04:05.000Z', '{"theme":"light","tags":[]}'],
    );
    const repo = ds.getRepository(User);
    const loaded = await repo.findOneByOrFail({ login: 'legacy' });
    expect(loaded).toMatchObject({
      email: 'legacy@example.com',
      score: 42.5,
      balance: 9007199254740993n,
      verified: true,
      birthday: new Date('2000-01-02T03:04:05.000Z'),
      settings: { theme: 'light', tags: [] },
    });

    loaded.address.city = 'Elsewhere'; // any change of the row makes TypeORM issue an UPDATE
    await repo.save(loaded);
    for (const column of ['email', 'score', 'balance', 'verified', 'birthday', 'settings']) {
      expect((await rawColumn(ds, 'sealed_user', column, { column: 'login', value: 'legacy' }))[0]).toMatch(/^sealed:1:x:/);
    }
    expect(await repo.findOneByOrFail({ login: 'legacy' })).toMatchObject({ email: 'legacy@example.com', score: 42.5, balance: 9007199254740993n });
  });

  it('still refuses tampered envelopes', async () => {
    const { id } = await ds.getRepository(User).save({ login: 'pt-tamper', email: 'pt@example.com' });
    await rawUpdate(ds, 'sealed_user', 'email', 'sealed:1:x:00000000:AAAA', { column: 'id', value: id });
    await expect(ds.getRepository(User).findOneBy({ id })).rejects.toMatchObject({ code: 'SEALED_MALFORMED' });
  });
});
