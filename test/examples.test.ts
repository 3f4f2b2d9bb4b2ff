// Runs every example under examples/ and checks what it prints.
import { main as demo } from '../examples/demo';
import { main as entitySchema } from '../examples/entity-schema';
import { main as legacyPlaintext } from '../examples/legacy-plaintext';
import { main as login } from '../examples/login';
import { main as migrations } from '../examples/migrations';
import { main as tenants } from '../examples/tenants';

async function output(run: (log: (line: string) => void) => Promise<void>): Promise<string> {
  const lines: string[] = [];
  await run((line) => lines.push(line));
  return lines.join('\n');
}

describe('examples', () => {
  it('demo shows ciphertext at rest, plaintext through TypeORM, and the refusals', async () => {
    const text = await output(demo);
    expect(text).toMatch(/diagnosis: sealed:1:x:[0-9a-f]{8}:/);
    expect(text).toContain('1 Ada: hypertension, born 1815-12-10, insured by Acme');
    expect(text).toContain('"diagnosis":"hypertension"');
    const indexKey = /index key ring: \{"activeKeyId":"([0-9a-f]{8})"/.exec(text)![1];
    expect(text).toContain(`findOneBy({ email: ' ADA@example.com' }) -> 1 Ada <ada@example.com>`);
    expect(text).toMatch(new RegExp(`its stored index value: ${indexKey}:[0-9a-f]{32}$`, 'm'));
    expect(text).toContain('SEALED_UNSUPPORTED_QUERY: Patient.diagnosis');
    expect(text).toMatch(/SEALED_TAMPERED: Patient\.bornOn \(id=1\)/);
  });

  it('entity-schema seals EntitySchema columns and fails a restart with a ring missing the key at initialize()', async () => {
    const text = await output(entitySchema);
    expect(text).toContain('found by e-mail: Ada, born 1815-12-10');
    expect(text).toMatch(/at rest: sealed:1:x:[0-9a-f]{8}:/);
    expect(text).toMatch(
      /initialize\(\) failed: SEALED_WRONG_KEY: Patient\.email \[key [0-9a-f]{8}\]: key id check: .*Patient\.email under [0-9a-f]{8}; Patient\.bornOn under/,
    );
    expect(text).toContain('initialize() succeeded; Ada@Example.com');
  });

  it('legacy-plaintext reads plaintext, seals rows as they are written, then the rest in bulk', async () => {
    const text = await output(legacyPlaintext);
    expect(text).toContain('before: {"sealed":0,"plaintext":2}');
    expect(text).toContain('legacy value reads as it is: +1 555 0100');
    expect(text).toContain('after:  {"sealed":2,"plaintext":1}');
    expect(text).toContain('encryptExisting: complete, 1 sealed; now: {"sealed":3,"plaintext":0}');
  });

  it('login finds a member by e-mail as typed, and the database refuses a duplicate address', async () => {
    const text = await output(login);
    expect(text).toMatch(/QueryFailedError SQLITE_CONSTRAINT_UNIQUE; members: 2/);
    expect(text).toContain("'ADA@example.com ' + right password: welcome, Ada <Ada@Example.com>");
    expect(text).toContain("'ada@example.com' + wrong password:  wrong e-mail or password");
    expect(text).toContain("'alan@example.com':                  wrong e-mail or password");
    const [, indexKey, key] = /\(index key ([0-9a-f]{8}), encryption key ([0-9a-f]{8})\)/.exec(text)!;
    expect(indexKey).not.toBe(key);
    const stored = [...text.matchAll(/emailBlindIndex: (\S+)/g)].map((m) => m[1]);
    expect(stored).toHaveLength(2);
    for (const value of stored) expect(value).toMatch(new RegExp(`^${indexKey}:[0-9a-f]{32}$`));
    expect(text).toMatch(new RegExp(`email: +sealed:1:x:${key}:`));
    const atRest = text.slice(text.indexOf('At rest'), text.indexOf('(index key'));
    expect(atRest).not.toMatch(/example\.com/i);
    expect(text).toContain('SEALED_UNSUPPORTED_QUERY: Member.email');
    expect(text).toContain('sealedRepository(repository).findOneBy({ email: ... })');
  });

  it('tenants get keys of their own; a rewrap changes no invoice row; shredding one tenant leaves the other readable', async () => {
    const text = await output(tenants);
    expect(text).toMatch(/data key [0-9a-f]{8}: scope \(default\), active, wrapped by local:[0-9a-f]{8}/);
    expect(text).toMatch(/data key [0-9a-f]{8}: scope acme, active/);
    expect(text).toMatch(/data key [0-9a-f]{8}: scope globex, active/);
    expect(text).toMatch(/at rest: acme sealed:1:x:[0-9a-f]{8}:/);
    expect(text).not.toMatch(/at rest: .*(Coyote|Scorpio)/);
    expect(text).toMatch(/rewrap: 3 data keys rewrapped by local:[0-9a-f]{8}; invoice rows unchanged/);
    expect(text).toContain('acme: SEALED_SHREDDED');
    expect(text).toContain('globex: Hank Scorpio, 990 USD');
    expect(text).toContain('with shreddedAsNull: acme=null, globex=Hank Scorpio');
  });

  it('migrations encrypt an existing column, then rotate to a new key', async () => {
    const text = await output(migrations);
    expect(text).toMatch(/after EncryptCustomerPhone: \{"([0-9a-f]{8})":3\}, plaintext 0/);
    const oldId = /after EncryptCustomerPhone: \{"([0-9a-f]{8})"/.exec(text)![1];
    const [, newId, active] = /after RotateKeys: \{"([0-9a-f]{8})":3\} \(active ([0-9a-f]{8})\)/.exec(text)!;
    expect(newId).toBe(active);
    expect(newId).not.toBe(oldId);
    expect(text).toContain('phones read back: +1 555 0100, +358 40 123, +44 20 7946');
  });
});
