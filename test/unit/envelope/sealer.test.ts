import { bindingBytes, Sealer } from '../../../src/envelope/sealer';
import { generateKey } from '../../../src/keys/key-material';
import { KeyRing } from '../../../src/keys/key-ring';

describe('Sealer', () => {
  const old = generateKey();
  const ring = new KeyRing({ active: generateKey(), decryptOnly: [old] });
  const sealer = new Sealer(ring);
  const users = bindingBytes('users', 'email');
  const plaintext = new TextEncoder().encode('salice@example.com');

  it('round-trips and names the active key id', () => {
    const envelope = sealer.seal(plaintext, users);
    expect(envelope.startsWith(`sealed:1:x:${ring.activeKeyId}:`)).toBe(true);
    expect(envelope).not.toContain('alice');
    expect(sealer.open(envelope, users)).toEqual(plaintext);
  });

  it('uses a fresh nonce for every seal', () => {
    const nonces = new Set(
      Array.from({ length: 100 }, () => Buffer.from(sealer.seal(plaintext, users).split(':')[4]!, 'base64url').subarray(0, 24).toString('hex')),
    );
    expect(nonces.size).toBe(100);
  });

  it('opens values sealed under a decrypt-only key', () => {
    const envelope = new Sealer(new KeyRing({ active: old })).seal(plaintext, users);
    expect(sealer.open(envelope, users)).toEqual(plaintext);
  });

  it('binds values to table and column, and authenticates the header', () => {
    const envelope = sealer.seal(plaintext, users);
    expect(() => sealer.open(envelope, bindingBytes('users', 'name'))).toThrow(expect.objectContaining({ code: 'SEALED_TAMPERED' }));
    expect(() => sealer.open(envelope, bindingBytes('admins', 'email'))).toThrow(expect.objectContaining({ code: 'SEALED_TAMPERED' }));
    // "a\0bc" vs "ab\0c": the NUL separator keeps table and column apart
    expect(() => sealer.open(sealer.seal(plaintext, bindingBytes('a', 'bc')), bindingBytes('ab', 'c'))).toThrow(
      expect.objectContaining({ code: 'SEALED_TAMPERED' }),
    );
    const relabelled = envelope.replace(ring.activeKeyId, ring.keyIds[1]!);
    expect(() => sealer.open(relabelled, users)).toThrow(expect.objectContaining({ code: 'SEALED_TAMPERED' }));
  });

  it('reports a key id missing from the ring as SEALED_WRONG_KEY', () => {
    const stranger = new Sealer(new KeyRing({ active: generateKey() }));
    const envelope = stranger.seal(plaintext, users);
    expect(() => sealer.open(envelope, users)).toThrow(
      expect.objectContaining({ code: 'SEALED_WRONG_KEY', keyId: stranger.keys.activeKeyId, message: expect.stringContaining(ring.keyIds.join(', ')) }),
    );
  });
});
