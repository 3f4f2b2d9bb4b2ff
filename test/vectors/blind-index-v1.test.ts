// Checks the published blind index vectors two ways: recomputed from FORMAT.md with noble
// primitives directly, and through the library's FieldCipher with the vector's options.
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { FieldCipher } from '../../src/cipher/field-cipher';
import type { ValueType } from '../../src/codec/value-type';
import { bindingBytes } from '../../src/envelope/sealer';
import { KeyRing } from '../../src/keys/key-ring';
import { resolveBlindIndex } from '../../src/metadata/blind-index';
import type { SealedColumn } from '../../src/metadata/column-plan';
import vectors from '../../vectors/blind-index-v1.json';

const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
type Vector = (typeof vectors.vectors)[number] & { normalize?: string[]; normalized?: string; slowLogN?: number };
const all = vectors.vectors as Vector[];

/** FORMAT.md, "Blind indexes", step by step from the encoded plaintext. */
function independentIndex(v: Vector): string {
  const key = Uint8Array.from(Buffer.from(vectors.indexKey, 'base64'));
  const keyId = hex(hkdf(sha256, key, undefined, utf8('typeorm-sealed/v1/key-id'), 4));
  const root = hkdf(sha256, key, undefined, utf8('typeorm-sealed/v1/blind-index'), 32);
  const columnKey = hkdf(sha256, root, undefined, Uint8Array.from([...utf8('typeorm-sealed/v1/blind-index-column'), 0, ...utf8(v.table), 0, ...utf8(v.column)]), 32);
  expect(hex(columnKey)).toBe(v.columnKeyHex);
  const plaintext = Uint8Array.from(Buffer.from(v.plaintextHex, 'hex'));
  const digest = v.slowLogN ? scrypt(plaintext, columnKey, { N: 2 ** v.slowLogN, r: 8, p: 1, dkLen: 32 }) : hmac(sha256, columnKey, plaintext);
  return `${keyId}:${hex(digest).slice(0, v.bits / 4)}`;
}

describe('blind index v1 test vectors', () => {
  const cipher = new FieldCipher(new KeyRing({ active: generateUnused() }), { indexKeys: new KeyRing({ active: vectors.indexKey }) });

  it.each(all.map((v) => [v.name, v] as const))('%s: recomputed from FORMAT.md', (_name, v) => {
    expect(independentIndex(v)).toBe(v.index);
  });

  it.each(all.map((v) => [v.name, v] as const))('%s: computed by the library from the raw value', (_name, v) => {
    const where = { entity: 'Vector', column: v.column };
    const spec = resolveBlindIndex({ bits: v.bits, ...(v.normalize ? { normalize: v.normalize as never } : {}), ...(v.slowLogN ? { slow: { logN: v.slowLogN } } : {}) }, v.valueType as ValueType, v.column, where);
    const sc = { entity: 'Vector', path: v.column, valueType: v.valueType as ValueType, binding: bindingBytes(v.table, v.column), maxLength: undefined, index: { ...spec, column: undefined as never } } as unknown as SealedColumn;
    expect(cipher.index(sc, v.value)).toBe(v.index);
  });
});

/** An encryption key unrelated to the index key (the cipher needs one). */
function generateUnused(): string {
  return Buffer.alloc(32, 7).toString('base64');
}
