// No key bytes are reachable from what the library hands out, and no plaintext reaches the query
// log through the library's own statements.
import { inspect } from 'node:util';
import type { DataSource, Logger } from 'typeorm';
import { generateKey, KeyRing, KeyRotator, sealedSubscriber, SealedError } from 'typeorm-sealed';
import { deriveSubkey } from '../../src/keys/derive';
import { openDataSource, testDialects } from './support/dialects';
import { ENTITIES, User } from './support/entities';

const master = generateKey();
const old = generateKey();
const keys = new KeyRing({ active: master, decryptOnly: [old] });

/** Every byte string a leak could take: master keys and their subkeys, raw, base64, base64url and hex. */
function secretForms(): string[] {
  const out: string[] = [];
  for (const key of [master, old]) {
    const raw = Buffer.from(key, 'base64');
    for (const bytes of [raw, Buffer.from(deriveSubkey(raw, 'encrypt')), Buffer.from(deriveSubkey(raw, 'blind-index'))]) {
      out.push(
        bytes.toString('base64').slice(0, 16),
        bytes.toString('base64url').slice(0, 16),
        bytes.toString('hex').slice(0, 16),
        bytes.toString('latin1').slice(0, 12),
      );
    }
  }
  return out;
}

/** Every object reachable through own properties (enumerable or not, symbols too), Map/Set entries and array items. */
function reachable(roots: unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const queue = [...roots];
  while (queue.length) {
    const value = queue.pop();
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) continue;
    seen.add(value);
    if (value instanceof Map) for (const [k, v] of value) queue.push(k, v);
    if (value instanceof Set) for (const v of value) queue.push(v);
    for (const key of Reflect.ownKeys(value as object)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor && 'value' in descriptor) queue.push(descriptor.value);
    }
  }
  return [...seen];
}

/** JSON of a value; TypeORM's own objects are circular, so those give no JSON (inspect covers them). */
function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}

function expectNoKeyBytes(roots: unknown[]): void {
  const forms = secretForms();
  const raws = [master, old].flatMap((k) => {
    const raw = Buffer.from(k, 'base64');
    return [raw, Buffer.from(deriveSubkey(raw, 'encrypt')), Buffer.from(deriveSubkey(raw, 'blind-index'))];
  });
  for (const value of reachable(roots)) {
    if (value instanceof Uint8Array) {
      const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      for (const raw of raws) expect(bytes.includes(raw.subarray(0, 16))).toBe(false);
    }
  }
  for (const root of roots) {
    const shown = [json(root), inspect(root, { depth: Infinity, showHidden: true, getters: false })].join('\n');
    for (const form of forms) expect(shown).not.toContain(form);
  }
}

describe.each(testDialects())('secrets on %s', (dialect) => {
  let ds: DataSource;
  const logged: string[] = [];
  const logger: Logger = {
    logQuery: (query: string, parameters?: unknown[]) => void logged.push(`${query} ${JSON.stringify(parameters ?? [])}`),
    logQueryError: (error: string | Error, query: string, parameters?: unknown[]) =>
      void logged.push(`${String(error)} ${query} ${JSON.stringify(parameters ?? [])}`),
    logQuerySlow: (_time: number, query: string, parameters?: unknown[]) => void logged.push(`${query} ${JSON.stringify(parameters ?? [])}`),
    logSchemaBuild: () => undefined,
    logMigration: () => undefined,
    log: () => undefined,
  };

  beforeAll(async () => {
    ds = await openDataSource(dialect, ENTITIES, [sealedSubscriber({ keys, plaintextPassthrough: true })]);
    ds.setOptions({ logger, logging: true } as never);
    (ds as unknown as { logger: Logger }).logger = logger;
  }, 60_000);
  afterAll(() => ds?.destroy());

  it('exposes no key bytes through the DataSource, subscribers, rotator or errors: JSON, inspect at any depth, enumeration', async () => {
    await ds.getRepository(User).save({ login: 'k', email: 'k@example.com' });
    const rotator = new KeyRotator(ds);
    const report = await rotator.verify();
    let error: unknown;
    try {
      await ds.getRepository(User).save({ login: 'k2', email: 42 as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SealedError);
    expectNoKeyBytes([ds.subscribers, ...ds.subscribers, rotator, report, error, keys]);
    // The whole DataSource too, through every own property it reaches.
    expectNoKeyBytes([ds]);
    expect(JSON.stringify(ds.subscribers[0])).toBe(JSON.stringify({ subscriber: 'sealedSubscriber', activeKeyId: keys.activeKeyId, keyIds: keys.keyIds }));
  }, 120_000);

  it('keeps plaintext out of the query log of encryptExisting and decryptAll', async () => {
    const secrets = ['legacy-secret-0001', 'legacy-secret-0002', 'legacy-secret-0003'];
    await ds
      .createQueryBuilder()
      .insert()
      .into(User)
      .values(secrets.map((email, i) => ({ login: `legacy${i}`, email })))
      .callListeners(false)
      .execute();
    logged.length = 0;
    expect((await new KeyRotator(ds, { entities: [User] }).encryptExisting()).status).toBe('complete');
    expect((await new KeyRotator(ds, { entities: [User] }).decryptAll()).columns.find((c) => c.column === 'email')!.rewritten).toBeGreaterThan(0);
    expect(logged.some((line) => line.includes('UPDATE'))).toBe(true); // the statements are logged, without their parameters
    for (const secret of secrets) expect(logged.join('\n')).not.toContain(secret);
    // Back to sealed for the other tests of this file.
    expect((await new KeyRotator(ds, { entities: [User] }).encryptExisting()).status).toBe('complete');
  }, 120_000);
});
