import { generateKey, keyIdOf, parseKey } from '../../../src/keys/key-material';

const KEY = Buffer.alloc(32, 7);

describe('parseKey', () => {
  it.each([
    ['base64 with padding', KEY.toString('base64')],
    ['base64 without padding', KEY.toString('base64').replace(/=+$/, '')],
    ['base64url', Buffer.alloc(32, 0xfb).toString('base64url')],
    ['surrounding whitespace', `  ${KEY.toString('base64')}\n`],
  ])('accepts %s', (_name, text) => {
    expect(parseKey(text)).toHaveLength(32);
  });

  it.each([
    ['31 bytes', Buffer.alloc(31, 1).toString('base64'), 'decodes to 31 bytes, not 32'],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64'), 'decodes to 33 bytes, not 32'],
    ['a 64-character hex key', KEY.toString('hex'), 'decodes to 48 bytes, not 32'],
    ['characters outside base64', 'not a key!', 'characters outside base64'],
    ['an empty string', '   ', 'is empty'],
    ['a passphrase', 'correct horse battery staple', 'characters outside base64'],
  ])('refuses %s with SEALED_INVALID_KEY, saying what a key must be', (_name, text, reason) => {
    const error = (() => {
      try {
        parseKey(text);
      } catch (e) {
        return e as Error & { code: string };
      }
      throw new Error('parseKey accepted it');
    })();
    expect(error.code).toBe('SEALED_INVALID_KEY');
    expect(error.message).toContain(reason);
    expect(error.message).toContain('32 random bytes');
    if (text.trim() !== '') expect(error.message).not.toContain(text.trim());
  });

  it('refuses a non-string', () => {
    expect(() => parseKey(42 as never)).toThrow(/must be a string, got number/);
  });
});

describe('generateKey and keyIdOf', () => {
  it('generates distinct 32-byte base64 keys that parse', () => {
    const keys = new Set(Array.from({ length: 50 }, generateKey));
    expect(keys.size).toBe(50);
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(parseKey(key)).toHaveLength(32);
    }
  });

  it('gives a stable 8-hex-character id, the same for base64 and base64url forms', () => {
    const key = generateKey();
    expect(keyIdOf(key)).toMatch(/^[0-9a-f]{8}$/);
    expect(keyIdOf(key)).toBe(keyIdOf(Buffer.from(key, 'base64').toString('base64url')));
    expect(keyIdOf(key)).not.toBe(keyIdOf(generateKey()));
  });
});
