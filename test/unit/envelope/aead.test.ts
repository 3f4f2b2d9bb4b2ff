import { randomBytes } from 'node:crypto';
import { defaultAead, nativeAead, nobleAead } from '../../../src/envelope/aead';

describe('XChaCha20-Poly1305 backends', () => {
  it('native is the default on this platform (Node has chacha20-poly1305)', () => {
    expect(defaultAead.name).toBe(process.env.TYPEORM_SEALED_AEAD === 'noble' ? 'noble' : 'native');
  });

  it('give the same bytes, and each opens what the other sealed, for every length from 0 to 300', () => {
    for (let length = 0; length <= 300; length++) {
      const [key, nonce, aad, plaintext] = [randomBytes(32), randomBytes(24), randomBytes(length % 40), randomBytes(length)];
      const fromNoble = nobleAead.seal(key, nonce, aad, plaintext);
      const fromNative = nativeAead.seal(key, nonce, aad, plaintext);
      expect(Buffer.from(fromNative).equals(Buffer.from(fromNoble))).toBe(true);
      expect(Buffer.from(nativeAead.open(key, nonce, aad, fromNoble)).equals(plaintext)).toBe(true);
      expect(Buffer.from(nobleAead.open(key, nonce, aad, fromNative)).equals(plaintext)).toBe(true);
    }
  });

  it.each([nobleAead, nativeAead])('$name fails closed on a flipped bit, another AAD, another key or a truncated body', (aead) => {
    const [key, nonce, aad] = [randomBytes(32), randomBytes(24), Buffer.from('sealed:1:x:abcdef01:t\0c')];
    const sealed = Buffer.from(aead.seal(key, nonce, aad, Buffer.from('secret')));
    for (let bit = 0; bit < sealed.length * 8; bit += 7) {
      const flipped = Buffer.from(sealed);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => aead.open(key, nonce, aad, flipped)).toThrow();
    }
    expect(() => aead.open(key, nonce, Buffer.from('sealed:1:x:abcdef01:t\0d'), sealed)).toThrow();
    expect(() => aead.open(randomBytes(32), nonce, aad, sealed)).toThrow();
    expect(() => aead.open(key, nonce, aad, sealed.subarray(0, 15))).toThrow();
    expect(() => aead.open(key, nonce, aad, sealed.subarray(1))).toThrow();
  });
});
