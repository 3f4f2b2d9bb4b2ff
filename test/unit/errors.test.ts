import { printable, SealedError } from '../../src/errors';

describe('SealedError', () => {
  it('puts code and context in front of the detail', () => {
    const e = new SealedError('SEALED_TAMPERED', 'authentication failed', { entity: 'User', column: 'email', primaryKey: 'id=3', keyId: 'abcdef01' });
    expect(e.message).toBe('SEALED_TAMPERED: User.email (id=3) [key abcdef01]: authentication failed');
    expect(e).toMatchObject({ name: 'SealedError', code: 'SEALED_TAMPERED', entity: 'User', column: 'email', primaryKey: 'id=3', keyId: 'abcdef01' });
    expect(e).toBeInstanceOf(Error);
  });

  it('adds context without overriding what it has', () => {
    const e = new SealedError('SEALED_WRONG_KEY', 'no such key', { keyId: 'abcdef01' }).withContext({ entity: 'User', column: 'email', keyId: 'ignored' });
    expect(e.message).toBe('SEALED_WRONG_KEY: User.email [key abcdef01]: no such key');
    expect(e.detail).toBe('no such key');
  });
});

describe('printable', () => {
  it('escapes every character a terminal or log reader acts on', () => {
    expect(printable('id=7\x1b[2J\r\nOK\tx\u0000\u007f\u009b\u2028\u202e')).toBe('id=7\\x1b[2J\\r\\nOK\\tx\\x00\\x7f\\x9b\\u2028\\u202e');
    expect(printable('Zoë 🔐 plain')).toBe('Zoë 🔐 plain');
    expect(printable('a\u061cb\ufeffc\u200bd\u2060e\u180ef')).toBe('a\\u061cb\\ufeffc\\u200bd\\u2060e\\u180ef');
  });

  it('keeps stored primary keys from forging lines in error messages', () => {
    const e = new SealedError('SEALED_TAMPERED', 'authentication failed', { entity: 'User', column: 'email', primaryKey: 'id=x\n[ok] all good\x1b[2K' });
    expect(e.message).toBe('SEALED_TAMPERED: User.email (id=x\\n[ok] all good\\x1b[2K): authentication failed');
    expect(e.message).not.toMatch(/[\u0000-\u001f]/);
  });
});
