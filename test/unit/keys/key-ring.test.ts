import { inspect } from 'node:util';
import { generateKey, keyIdOf } from '../../../src/keys/key-material';
import { KeyRing } from '../../../src/keys/key-ring';
import { subkeyOf } from '../../../src/keys/key-source';

const active = generateKey();
const old = generateKey();

describe('KeyRing', () => {
  it('puts the active key first and keeps decrypt-only keys', () => {
    const ring = new KeyRing({ active, decryptOnly: [old, active] });
    expect(ring.activeKeyId).toBe(keyIdOf(active));
    expect(ring.keyIds).toEqual([keyIdOf(active), keyIdOf(old)]);
    expect(ring.has(keyIdOf(old))).toBe(true);
    expect(ring.has('00000000')).toBe(false);
  });

  it('derives distinct subkeys per purpose and per key', () => {
    const ring = new KeyRing({ active, decryptOnly: [old] });
    const a = subkeyOf(ring, ring.activeKeyId, 'encrypt')!;
    expect(a).toHaveLength(32);
    expect(Buffer.from(a).equals(subkeyOf(ring, ring.activeKeyId, 'blind-index')!)).toBe(false);
    expect(Buffer.from(a).equals(subkeyOf(ring, keyIdOf(old), 'encrypt')!)).toBe(false);
    expect(Buffer.from(a).equals(Buffer.from(active, 'base64'))).toBe(false);
  });

  it('parses "<active>,<older>" and "<id>:<key>" entries', () => {
    const ring = KeyRing.fromString(` ${keyIdOf(active)}:${active} ,\n${old} `);
    expect(ring.keyIds).toEqual([keyIdOf(active), keyIdOf(old)]);
  });

  it('detects a wrong key under a known id (SEALED_KEY_ID_MISMATCH)', () => {
    expect(() => KeyRing.fromString(`${keyIdOf(active)}:${old}`)).toThrow(expect.objectContaining({ code: 'SEALED_KEY_ID_MISMATCH', keyId: keyIdOf(active) }));
    expect(() => new KeyRing({ active: { id: 'deadbeef', key: active } })).toThrow(/not the key that id names/);
  });

  it('refuses two different keys with the same id instead of dropping one', () => {
    // Found by a birthday search over sha256("collision-search-<i>"): both fingerprint to 91ba76a1.
    const a = 'D+JeVlkuJW3+UOgYx3Fagn1ZMNlVYwOlwcUw7RAqvtM=';
    const b = 'UUDdxXe+lRXtyI34Qa5mN8XZ2AVyF8jpVOfugu+vlR0=';
    expect(keyIdOf(a)).toBe('91ba76a1');
    expect(keyIdOf(b)).toBe('91ba76a1');
    expect(() => new KeyRing({ active: a, decryptOnly: [b] })).toThrow(
      expect.objectContaining({ code: 'SEALED_INVALID_KEY', keyId: '91ba76a1', message: expect.stringContaining('fingerprint collision') }),
    );
  });

  it('names the bad entry', () => {
    expect(() => KeyRing.fromString(`${active},short`)).toThrow(/decryptOnly\[0\] decodes to 3 bytes/);
    expect(() => KeyRing.fromString(`${active},,${old}`)).toThrow(/empty entry/);
    expect(() => new KeyRing(undefined as never)).toThrow(/KeyRing needs \{ active/);
  });

  it('reads TYPEORM_SEALED_KEYS, and says how to set it when missing', () => {
    expect(KeyRing.fromEnv(undefined, { TYPEORM_SEALED_KEYS: `${active},${old}` }).keyIds).toHaveLength(2);
    expect(KeyRing.fromEnv('MY_KEYS', { MY_KEYS: active }).activeKeyId).toBe(keyIdOf(active));
    expect(() => KeyRing.fromEnv('MY_KEYS', {})).toThrow(/MY_KEYS is not set.*openssl rand -base64 32/);
  });

  it('redacts itself in JSON and inspect', () => {
    const ring = new KeyRing({ active, decryptOnly: [old] });
    const shown = JSON.stringify(ring) + inspect(ring, { showHidden: true, depth: 5 }) + JSON.stringify({ ...ring });
    expect(shown).toContain(ring.activeKeyId);
    for (const key of [active, old]) {
      expect(shown).not.toContain(key);
      expect(shown).not.toContain(key.slice(0, 12));
    }
    const subkey = Buffer.from(subkeyOf(ring, ring.activeKeyId, 'encrypt')!);
    expect(shown).not.toContain(subkey.toString('base64').slice(0, 12));
    expect(shown).not.toContain(subkey.toString('hex').slice(0, 12));
  });

  it('never echoes a key written where an id goes ("<key>:<key>", ":" typed for ",")', () => {
    const attempts: (() => unknown)[] = [
      () => KeyRing.fromString(`${active}:${old}`),
      () => KeyRing.fromString(` ${active} : ${old} `),
      () => KeyRing.fromString(`${old},${active}:${old}`),
      () => new KeyRing({ active: { id: active, key: old } }),
      () => new KeyRing({ active: old, decryptOnly: [{ id: active.slice(0, 20), key: old }] }),
      () => new KeyRing({ active: { id: 42 as never, key: old } }),
      // Two keys passed as two arguments: the second is ignored, never shown (it once was a message label).
      () => (KeyRing.fromString as (...args: string[]) => KeyRing)(`${active}:`, old),
    ];
    for (const attempt of attempts) {
      let error: unknown;
      try {
        attempt();
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ name: 'SealedError', code: 'SEALED_INVALID_KEY' });
      const shown = `${(error as Error).message}\n${(error as Error).stack}\n${JSON.stringify(error)}\n${inspect(error, { showHidden: true, depth: 5 })}`;
      for (const key of [active, old]) {
        for (let i = 0; i + 8 <= key.length; i += 4) expect(shown).not.toContain(key.slice(i, i + 8));
      }
      expect((error as { keyId?: string }).keyId).toBeUndefined();
      expect((error as Error).message).toContain('Separate the keys of a ring with ","');
    }
  });

  it('names a ring given as a string "key ring" in every message, whatever else is passed', () => {
    expect(() => (KeyRing.fromString as (...args: string[]) => KeyRing)('', old)).toThrow(/: key ring is empty/);
    expect(() => (KeyRing.fromString as (...args: string[]) => KeyRing)(`${active},`, old)).toThrow(/: key ring has an empty entry/);
  });

  it('does not echo an environment variable "name" that looks like a key', () => {
    let message = '';
    try {
      KeyRing.fromEnv(active, {});
    } catch (e) {
      message = `${(e as Error).message} ${JSON.stringify(e)}`;
    }
    expect(message).toContain('pass the name, not the value');
    for (let i = 0; i + 8 <= active.length; i += 4) expect(message).not.toContain(active.slice(i, i + 8));
    expect(() => KeyRing.fromEnv('APP_KEYS_2', {})).toThrow(/environment variable APP_KEYS_2 is not set/);
  });
});
