// Checks the published vectors two ways: with an independent decryptor written from FORMAT.md
// using noble primitives directly, and with the library. Then the reverse: fresh library output
// must open with the independent decryptor.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeValue } from '../../src/codec/codec';
import { nativeAead, nobleAead } from '../../src/envelope/aead';
import { bindingBytes, Sealer } from '../../src/envelope/sealer';
import { KeyRing } from '../../src/keys/key-ring';
import vectors from '../../vectors/envelope-v1.json';

const utf8 = (s: string) => new TextEncoder().encode(s);

/** FORMAT.md, "Opening an envelope", step by step. */
function independentOpen(keyBase64: string, table: string, column: string, envelope: string): Uint8Array {
  const key = Uint8Array.from(Buffer.from(keyBase64, 'base64'));
  const [prefix, version, algorithm, keyId, body] = envelope.split(':');
  expect([prefix, version, algorithm]).toEqual(['sealed', '1', 'x']);
  expect(Buffer.from(hkdf(sha256, key, undefined, utf8('typeorm-sealed/v1/key-id'), 4)).toString('hex')).toBe(keyId);
  const encryptionKey = hkdf(sha256, key, undefined, utf8('typeorm-sealed/v1/encrypt'), 32);
  const bytes = Uint8Array.from(Buffer.from(body!, 'base64url'));
  const aad = Uint8Array.from([...utf8(`sealed:1:x:${keyId}:`), ...utf8(table), 0, ...utf8(column)]);
  return xchacha20poly1305(encryptionKey, bytes.subarray(0, 24), aad).decrypt(bytes.subarray(24));
}

const asJson = (v: unknown): unknown =>
  typeof v === 'bigint' ? v.toString() : v instanceof Date ? v.toISOString() : Buffer.isBuffer(v) ? v.toString('hex') : v;

describe.each([nobleAead, nativeAead])('envelope v1 test vectors with the $name backend', (aead) => {
  const sealer = new Sealer(new KeyRing({ active: vectors.key }), aead);

  it.each(vectors.vectors.map((v) => [v.name, v] as const))('%s opens with the independent decryptor', (_name, v) => {
    expect(Buffer.from(independentOpen(vectors.key, v.table, v.column, v.envelope)).toString('hex')).toBe(v.plaintextHex);
  });

  it.each(vectors.vectors.map((v) => [v.name, v] as const))('%s opens with the library as its typed value', (_name, v) => {
    expect(asJson(decodeValue(sealer.open(v.envelope, bindingBytes(v.table, v.column))))).toEqual(v.value);
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))('%s is refused', (_name, v) => {
    expect(() => sealer.open(v.envelope, bindingBytes(v.table, v.column))).toThrow(expect.objectContaining({ code: v.code }));
  });

  it('fresh library output opens with the independent decryptor', () => {
    for (const v of vectors.vectors) {
      const envelope = sealer.seal(Buffer.from(v.plaintextHex, 'hex'), bindingBytes(v.table, v.column));
      expect(envelope).not.toBe(v.envelope); // fresh random nonce
      expect(Buffer.from(independentOpen(vectors.key, v.table, v.column, envelope)).toString('hex')).toBe(v.plaintextHex);
    }
  });
});
