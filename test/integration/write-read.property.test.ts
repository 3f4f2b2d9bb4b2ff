// Properties of the public API over generated values, on every dialect: whatever string or JSON
// value application code writes (including strings shaped like envelopes, or a real envelope
// copied from another row) is stored sealed and reads back exactly as written; whatever string
// someone with database access puts in the column reads back as a typed SealedError or as a value
// that column really holds, never as anything else.
import fc from 'fast-check';
import type { DataSource, Repository } from 'typeorm';
import { generateKey, KeyRing, SealedError, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, rawColumn, rawUpdate, testDialects } from './support/dialects';
import { ENTITIES, User } from './support/entities';

const keys = new KeyRing({ active: generateKey() });
const ENVELOPE = /^sealed:1:x:[0-9a-f]{8}:[A-Za-z0-9_-]+$/;
/** Runs per property and dialect: each is a few round trips to the database. */
const RUNS = { numRuns: 40 };

/** Strings an application may hand over, with a bias towards ones that look like stored forms. */
const appString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 120 }),
  fc.string({ maxLength: 60 }).map((s) => `sealed:${s}`),
  fc.string({ maxLength: 60 }).map((s) => `sealed:1:x:${keys.activeKeyId}:${s}`),
  fc.constantFrom('', ' ', 'sealed:', 'sealed:1:x:', 'null', 'NULL', '0', 'true', '\u0000', "'; DROP TABLE sealed_user; --"),
);

describe.each(testDialects())('write and read properties on %s', (dialect) => {
  let ds: DataSource;
  let users: Repository<User>;
  let serial = 0;
  const login = () => `p${++serial}`;

  beforeAll(async () => {
    ds = await openDataSource(dialect, ENTITIES, [sealedSubscriber({ keys })]);
    users = ds.getRepository(User);
  });
  afterAll(() => ds?.destroy());

  const storedEmail = async (who: string) => (await rawColumn(ds, 'sealed_user', 'email', { column: 'login', value: who }))[0] as string;

  it('any string saved, inserted or updated reads back equal and is stored as an envelope that does not contain it', async () => {
    await fc.assert(
      fc.asyncProperty(appString, appString, async (first, second) => {
        const who = login();
        const user = users.create({ login: who, email: first });
        await users.save(user);
        expect(user.email).toBe(first);
        expect((await users.findOneByOrFail({ login: who })).email).toBe(first);
        const stored = await storedEmail(who);
        expect(stored).toMatch(ENVELOPE);
        expect(stored).not.toBe(first);
        if (first.length >= 12) expect(stored.slice(stored.lastIndexOf(':') + 1)).not.toContain(first);

        await users.update({ login: who }, { email: second });
        expect((await users.findOneByOrFail({ login: who })).email).toBe(second);

        const inserted = { login: login(), email: second };
        await users.insert(inserted);
        expect((await users.findOneByOrFail({ login: inserted.login })).email).toBe(second);
      }),
      RUNS,
    );
  });

  it('an envelope copied from another row into an object is plaintext: stored sealed again, read back as that envelope string', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 80 }), async (secret) => {
        const victim = login();
        await users.save(users.create({ login: victim, email: secret }));
        const envelope = await storedEmail(victim);
        const attacker = login();
        await users.save(users.create({ login: attacker, email: envelope }));
        expect((await users.findOneByOrFail({ login: attacker })).email).toBe(envelope);
        await users.update({ login: attacker }, { email: envelope });
        expect((await users.findOneByOrFail({ login: attacker })).email).toBe(envelope);
        expect(await storedEmail(attacker)).not.toBe(envelope);
      }),
      RUNS,
    );
  });

  it('any string put in the column behind the library reads as a SealedError, or as a value of that column', async () => {
    const [a, b] = [login(), login()];
    await users.save([users.create({ login: a, email: 'a@example.com' }), users.create({ login: b, email: 'b@example.com' })]);
    const [envA, envB] = [await storedEmail(a), await storedEmail(b)];
    const hostile = fc.oneof(
      appString,
      fc.constantFrom(envA, envB),
      fc.tuple(fc.constantFrom(envA, envB), fc.nat(), fc.constantFrom('A', 'b', '-', '_', '0', ':')).map(([env, at, c]) => {
        const i = 12 + (at % (env.length - 12));
        return env.slice(0, i) + c + env.slice(i + 1);
      }),
    );
    const target = login();
    await users.save(users.create({ login: target, email: 'target@example.com' }));
    await fc.assert(
      fc.asyncProperty(hostile, async (text) => {
        // PostgreSQL text cannot hold NUL at all: no one can store it there.
        fc.pre(dialect !== 'postgres' || !text.includes('\u0000'));
        await rawUpdate(ds, 'sealed_user', 'email', text, { column: 'login', value: target });
        let outcome: { error: unknown } | { value: string };
        try {
          outcome = { value: (await users.findOneByOrFail({ login: target })).email };
        } catch (error) {
          outcome = { error };
        }
        if ('error' in outcome) {
          expect(outcome.error).toBeInstanceOf(SealedError);
        } else {
          // Rows are not bound (README): a value moved between rows of the same column opens.
          expect([envA, envB]).toContain(text);
          expect(outcome.value).toBe(text === envA ? 'a@example.com' : 'b@example.com');
        }
      }),
      RUNS,
    );
  });
});
