import { generateKey, KeyRing } from 'typeorm-sealed';
import { IndexHasher } from '../../../src/envelope/blind-index';
import { bindingBytes } from '../../../src/envelope/sealer';

const key = generateKey();
const ring = new KeyRing({ active: key });
const hasher = new IndexHasher(ring);
const fast = { bits: 128, slowLogN: undefined };
const bytes = (s: string) => new TextEncoder().encode(s);

describe('IndexHasher', () => {
  const email = bindingBytes('users', 'email');

  it('computes `<key id>:<bits / 4 hex digits>`, the same for the same value, key and column', () => {
    const value = hasher.compute(email, fast, bytes('alice'));
    expect(value).toMatch(new RegExp(`^${ring.activeKeyId}:[0-9a-f]{32}$`));
    expect(new IndexHasher(new KeyRing({ active: key })).compute(bindingBytes('users', 'email'), fast, bytes('alice'))).toBe(value);
    expect(hasher.compute(email, fast, bytes('alicf'))).not.toBe(value);
  });

  it('gives each table and column, and each index key, index values of its own', () => {
    const value = hasher.compute(email, fast, bytes('alice'));
    expect(hasher.compute(bindingBytes('users', 'backup'), fast, bytes('alice'))).not.toBe(value);
    expect(hasher.compute(bindingBytes('admins', 'email'), fast, bytes('alice'))).not.toBe(value);
    expect(new IndexHasher(new KeyRing({ active: generateKey() })).compute(email, fast, bytes('alice')).slice(9)).not.toBe(value.slice(9));
  });

  it('truncates to the bits asked for: a prefix of the full value', () => {
    const full = hasher.compute(email, { bits: 256, slowLogN: undefined }, bytes('alice'));
    expect(full).toHaveLength(9 + 64);
    expect(hasher.compute(email, { bits: 8, slowLogN: undefined }, bytes('alice'))).toBe(full.slice(0, 9 + 2));
  });

  it('computes a slow index with scrypt, unlike the fast one', () => {
    const slow = hasher.compute(email, { bits: 128, slowLogN: 10 }, bytes('1990-01-01'));
    expect(slow).toMatch(/^[0-9a-f]{8}:[0-9a-f]{32}$/);
    expect(slow).not.toBe(hasher.compute(email, fast, bytes('1990-01-01')));
    expect(hasher.compute(email, { bits: 128, slowLogN: 10 }, bytes('1990-01-01'))).toBe(slow);
  });

  it('reads the index key id of a stored index value, and nothing else', () => {
    expect(hasher.keyIdOf(hasher.compute(email, fast, bytes('x')))).toBe(ring.activeKeyId);
    for (const stored of ['sealed:1:x:abcdef01:AAAA', 'abcdef01', 'ABCDEF01:00', null, 42]) expect(hasher.keyIdOf(stored)).toBeUndefined();
  });

  it('refuses an index key id the ring lacks, naming it', () => {
    expect(() => hasher.compute(email, fast, bytes('x'), 'abcdef01')).toThrow(expect.objectContaining({ code: 'SEALED_WRONG_KEY', keyId: 'abcdef01' }));
  });
});
