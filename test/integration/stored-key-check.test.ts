import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, ViewColumn, ViewEntity } from 'typeorm';
import { checkStoredKeyIds, Encrypted, generateKey, KeyRing, KeyVault, localKeyWrapper, SealedDataKeys, SealedError, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, testDialects, type Dialect } from './support/dialects';
import { INDEXED_ENTITIES, Tagged } from './support/indexed-entities';

const [first, middle, last, index, otherIndex] = [generateKey(), generateKey(), generateKey(), generateKey(), generateKey()];
const ringOf = (active: string, ...decryptOnly: string[]) => new KeyRing({ active, decryptOnly });
const everyKey = ringOf(last, first, middle);
const indexKeys = ringOf(index);

/** What `initialize()` rejected with (or `undefined`), and whether the DataSource was left initialized. */
async function initializeOutcome(open: () => Promise<DataSource>): Promise<SealedError | undefined> {
  try {
    const ds = await open();
    await ds.destroy();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(SealedError);
    return e as SealedError;
  }
}

describe.each(testDialects())('the key id check on %s', (dialect: Dialect) => {
  let dir: string;
  let file: string;
  const reopen = (options: Parameters<typeof sealedSubscriber>[0], entities: (Function | typeof SealedDataKeys)[] = INDEXED_ENTITIES) =>
    openDataSource(dialect, entities, [sealedSubscriber(options)], file, { dropSchema: false, synchronize: false });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealed-key-check-'));
    file = join(dir, 'db.sqlite');
    // 30 rows under `first`, 30 under `middle`, then 30 under `last`, in primary key order.
    const ds = await openDataSource(dialect, INDEXED_ENTITIES, [sealedSubscriber({ keys: ringOf(first), indexKeys })], file);
    await ds.getRepository(Tagged).save(Array.from({ length: 30 }, (_, i) => ({ tag: `first-${i}`, note: 'x' })));
    await ds.destroy();
    for (const [ring, name] of [
      [ringOf(middle, first), 'middle'],
      [everyKey, 'last'],
    ] as const) {
      const next = await reopen({ keys: ring, indexKeys });
      await next.getRepository(Tagged).save(Array.from({ length: 30 }, (_, i) => ({ tag: `${name}-${i}` })));
      await next.destroy();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lets initialize() through when the keys hold every sampled key id', async () => {
    expect(await initializeOutcome(() => reopen({ keys: everyKey, indexKeys, checkKeyIds: true }))).toBeUndefined();
  });

  it('fails initialize() with SEALED_WRONG_KEY naming the column and the ids of the oldest or newest rows the keys lack', async () => {
    const stale = await initializeOutcome(() => reopen({ keys: ringOf(middle, first), indexKeys, checkKeyIds: true }));
    expect(stale).toMatchObject({ code: 'SEALED_WRONG_KEY', entity: 'Tagged', column: 'tag', keyId: keyIdOf(last) });
    expect(stale!.message).toContain(`Tagged.tag under ${keyIdOf(last)}`);
    const lacksOld = await initializeOutcome(() => reopen({ keys: ringOf(last, middle), indexKeys, checkKeyIds: true }));
    expect(lacksOld!.message).toContain(`Tagged.tag under ${keyIdOf(first)};`);
    expect(lacksOld!.message).toContain(`Tagged.note under ${keyIdOf(first)}`);
    expect(lacksOld!.message).toContain(`the keys hold ${keyIdOf(last)}, ${keyIdOf(middle)}`);
    for (const key of [first, middle, last, index]) expect(lacksOld!.message).not.toContain(key.slice(0, 12));
    // Without the option, the same keys initialize (and fail only at the unlucky read).
    expect(await initializeOutcome(() => reopen({ keys: ringOf(last, middle), indexKeys }))).toBeUndefined();
  });

  it('leaves the DataSource destroyed when the check fails, so it can be initialized again with the right keys', async () => {
    const opened = await reopen({ keys: everyKey, indexKeys });
    await opened.destroy();
    const ds = new DataSource({ ...opened.options, subscribers: [sealedSubscriber({ keys: ringOf(last), indexKeys, checkKeyIds: true })] });
    await expect(ds.initialize()).rejects.toMatchObject({ code: 'SEALED_WRONG_KEY' });
    expect(ds.isInitialized).toBe(false);
  });

  it('checks blind index columns against the index keys', async () => {
    const error = await initializeOutcome(() => reopen({ keys: everyKey, indexKeys: ringOf(otherIndex), checkKeyIds: true }));
    expect(error).toMatchObject({ code: 'SEALED_WRONG_KEY', keyId: keyIdOf(index) });
    expect(error).toMatchObject({ entity: 'Tagged', column: 'tag' });
    expect(error!.message).toMatch(new RegExp(`Tagged\\.tag \\(blind index tag_?[bB]lind_?[iI]ndex\\) under ${keyIdOf(index)} `));
  });

  it('reads sampleRows from each end of the primary key: a key only the middle rows use needs a larger sample', async () => {
    const lacksMiddle = { keys: ringOf(last, first), indexKeys };
    expect(await initializeOutcome(() => reopen({ ...lacksMiddle, checkKeyIds: { sampleRows: 30 } }))).toBeUndefined();
    expect(await initializeOutcome(() => reopen({ ...lacksMiddle, checkKeyIds: { sampleRows: 31 } }))).toMatchObject({ keyId: keyIdOf(middle) });
    expect(await initializeOutcome(() => reopen({ ...lacksMiddle, checkKeyIds: true }))).toMatchObject({ keyId: keyIdOf(middle) });
  });

  it('checks a key vault after its load, when called', async () => {
    const vault = new KeyVault({ wrapper: localKeyWrapper(new KeyRing({ active: generateKey() })) });
    const ds = await reopen({ keys: vault, indexKeys }, [...INDEXED_ENTITIES, SealedDataKeys]);
    try {
      await ds.synchronize();
      await vault.load(ds);
      const error = await checkStoredKeyIds(ds).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SEALED_WRONG_KEY', entity: 'Tagged', column: 'tag' });
      expect((error as Error).message).toContain(`Tagged.tag under ${[first, middle, last].map(keyIdOf).sort().join(', ')};`);
    } finally {
      await ds.destroy();
    }
  });

  it('skips tables that do not exist yet', async () => {
    const subscriber = sealedSubscriber({ keys: ringOf(last), indexKeys, checkKeyIds: true });
    const ds = await openDataSource(dialect, INDEXED_ENTITIES, [subscriber], join(dir, 'empty.sqlite'), { dropSchema: true, synchronize: false });
    expect(ds.isInitialized).toBe(true);
    await ds.destroy();
  });
});

describe('the key id check on other shapes of tables (SQLite)', () => {
  @ViewEntity({ name: 'sealed_tag_view', expression: 'SELECT id, tag FROM sealed_tagged' })
  class TagView {
    @ViewColumn() id!: number;
    @Encrypted({ boundTo: { table: 'sealed_tagged', column: 'tag' } }) tag!: string;
  }

  it("skips views (their values are their tables')", async () => {
    const keys = ringOf(first);
    const ds = await openDataSource('sqlite', [...INDEXED_ENTITIES, TagView], [sealedSubscriber({ keys, indexKeys, checkKeyIds: true })]);
    try {
      await ds.getRepository(Tagged).save({ tag: 'x' });
      await expect(checkStoredKeyIds(ds)).resolves.toBeUndefined();
    } finally {
      await ds.destroy();
    }
  });

  it('refuses at the first event a DataSource of another typeorm copy, where initialize() could not run the check', async () => {
    // A second copy of typeorm, as two installs would give: its DataSource.prototype is not the one patched.
    let OtherCopy!: typeof DataSource;
    jest.isolateModules(() => {
      OtherCopy = (require('typeorm') as typeof import('typeorm')).DataSource;
    });
    expect(OtherCopy).not.toBe(DataSource);
    const ds = await openDataSource('sqlite', INDEXED_ENTITIES, [], ':memory:', { synchronize: false, dropSchema: false }).then(async (template) => {
      await template.destroy();
      return new OtherCopy({
        ...template.options,
        subscribers: [sealedSubscriber({ keys: everyKey, indexKeys, checkKeyIds: true })],
        synchronize: true,
      } as never);
    });
    await expect(ds.initialize()).rejects.toMatchObject({
      code: 'SEALED_CONFIG',
      message: expect.stringContaining('its typeorm is another copy than the one typeorm-sealed uses'),
    });
    if (ds.isInitialized) await ds.destroy();
  });
});

describe('the key id check option', () => {
  it('says what checkStoredKeyIds needs on a DataSource without a sealed subscriber', async () => {
    const ds = await openDataSource('sqlite', [], []);
    try {
      await expect(checkStoredKeyIds(ds)).rejects.toMatchObject({
        code: 'SEALED_CONFIG',
        message: expect.stringContaining('checkStoredKeyIds checks the keys of the sealedSubscriber(...) registered on the DataSource, and it has none'),
      });
    } finally {
      await ds.destroy();
    }
  });

  it('refuses a key vault (it loads after initialize) and a sample size that is not a positive integer', () => {
    const vault = new KeyVault({ wrapper: localKeyWrapper(new KeyRing({ active: generateKey() })) });
    expect(() => sealedSubscriber({ keys: vault, checkKeyIds: true })).toThrow(
      /checkKeyIds needs a KeyRing.*checkStoredKeyIds\(dataSource\) after vault.load\(\)/,
    );
    for (const sampleRows of [0, 1.5, -1, Number.NaN])
      expect(() => sealedSubscriber({ keys: ringOf(last), checkKeyIds: { sampleRows } })).toThrow(
        'checkKeyIds sampleRows must be an integer from 1 to 1000000',
      );
  });
});

function keyIdOf(key: string): string {
  return new KeyRing({ active: key }).activeKeyId;
}
