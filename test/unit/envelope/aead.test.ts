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
      expect(Buffer.from(nativeAead.open(key, aad, Buffer.concat([nonce, fromNoble]))).equals(plaintext)).toBe(true);
      expect(Buffer.from(nobleAead.open(key, aad, Buffer.concat([nonce, fromNative]))).equals(plaintext)).toBe(true);
    }
  });

  it.each([nobleAead, nativeAead])('$name fails closed on a flipped bit, another AAD, another key or a truncated body', (aead) => {
    const [key, nonce, aad] = [randomBytes(32), randomBytes(24), Buffer.from('sealed:1:x:abcdef01:t\0c')];
    const body = Buffer.concat([nonce, aead.seal(key, nonce, aad, Buffer.from('secret'))]);
    expect(Buffer.from(aead.open(key, aad, body)).toString()).toBe('secret');
    for (let bit = 0; bit < body.length * 8; bit += 7) {
      const flipped = Buffer.from(body);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => aead.open(key, aad, flipped)).toThrow();
    }
    expect(() => aead.open(key, Buffer.from('sealed:1:x:abcdef01:t\0d'), body)).toThrow();
    expect(() => aead.open(randomBytes(32), aad, body)).toThrow();
    expect(() => aead.open(key, aad, body.subarray(0, 39))).toThrow();
    expect(() => aead.open(key, aad, Buffer.concat([body.subarray(0, 24), body.subarray(25)]))).toThrow();
  });
});
