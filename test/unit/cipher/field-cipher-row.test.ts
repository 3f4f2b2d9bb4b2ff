// FieldCipher's row binding: which key values bind, as what text, and the refusals.
import { generateKey, KeyRing } from 'typeorm-sealed';
import { FieldCipher } from '../../../src/cipher/field-cipher';
import { bindingBytes } from '../../../src/envelope/sealer';
import type { SealedColumn } from '../../../src/metadata/column-plan';

const cipher = new FieldCipher(new KeyRing({ active: generateKey() }));

/** A row-bound column of a table whose primary key columns have these types. */
function column(...types: string[]): SealedColumn {
  return {
    entity: 'Note',
    path: 'body',
    valueType: 'string',
    binding: bindingBytes('note', 'body'),
    maxLength: undefined,
    rowKey: types.map((type, i) => ({ type, propertyPath: `k${i}` })),
  } as unknown as SealedColumn;
}
const row = (...values: unknown[]) => ({ row: () => values });

describe('FieldCipher row binding', () => {
  it('opens a value only with the key it was sealed with, compared as the text FORMAT.md gives', () => {
    const sc = column('int', 'varchar');
    const sealed = cipher.seal(sc, 'v', row(7, 'ann'));
    expect(cipher.open(sc, sealed, row('7', 'ann'))).toBe('v'); // a driver reading the int as text
    expect(cipher.open(sc, sealed, row(7n, 'ann'))).toBe('v');
    expect(() => cipher.open(sc, sealed, row(7, 'Ann'))).toThrow(expect.objectContaining({ code: 'SEALED_TAMPERED' }));
    expect(() => cipher.open(sc, sealed, row(70, 'ann'))).toThrow(expect.objectContaining({ code: 'SEALED_TAMPERED' }));
    // length prefixes: ('a', 'bc') is not ('ab', 'c')
    const texts = column('varchar', 'varchar');
    expect(() => cipher.open(texts, cipher.seal(texts, 'v', row('a', 'bc')), row('ab', 'c'))).toThrow(expect.objectContaining({ code: 'SEALED_TAMPERED' }));
  });

  it('takes an integer key as text only in canonical decimal, as the database reads it back', () => {
    const sc = column('int');
    expect(() => cipher.seal(sc, 'v', row('007'))).toThrow(expect.objectContaining({ code: 'SEALED_UNSUPPORTED_VALUE' }));
    expect(() => cipher.seal(sc, 'v', row(' 7'))).toThrow(expect.objectContaining({ code: 'SEALED_UNSUPPORTED_VALUE' }));
    expect(() => cipher.seal(sc, 'v', row(7.5))).toThrow(expect.objectContaining({ code: 'SEALED_UNSUPPORTED_VALUE' }));
    expect(cipher.open(sc, cipher.seal(sc, 'v', row('-7')), row(-7))).toBe('v');
    expect(() => cipher.seal(column('varchar'), 'v', row('lone \ud800'))).toThrow(expect.objectContaining({ code: 'SEALED_UNSUPPORTED_VALUE' }));
  });

  it('binds uuids in lower case, -0 as 0, dates in ISO 8601 and bytes in hex', () => {
    const uuid = column('uuid');
    expect(cipher.open(uuid, cipher.seal(uuid, 'v', row('AB-CD')), row('ab-cd'))).toBe('v');
    const text = column('varchar');
    expect(() => cipher.open(text, cipher.seal(text, 'v', row('AB')), row('ab'))).toThrow(expect.objectContaining({ code: 'SEALED_TAMPERED' }));
    const num = column('float');
    expect(cipher.open(num, cipher.seal(num, 'v', row(-0)), row(0))).toBe('v');
    const date = column('timestamp');
    expect(cipher.open(date, cipher.seal(date, 'v', row(new Date(5))), row(new Date(5)))).toBe('v');
    const bytes = column('bytea');
    expect(cipher.open(bytes, cipher.seal(bytes, 'v', row(Buffer.from([1, 2]))), row(new Uint8Array([1, 2])))).toBe('v');
  });

  it('refuses a missing key part and a key of another type, naming the key columns', () => {
    const sc = column('int', 'varchar');
    expect(() => cipher.seal(sc, 'v', row(1))).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG', message: expect.stringContaining('k0, k1') }));
    expect(() => cipher.seal(sc, 'v', row(1, null))).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }));
    expect(() => cipher.seal(sc, 'v', {})).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }));
    expect(() => cipher.seal(sc, 'v', row(1, { toString: () => 'x' }))).toThrow(expect.objectContaining({ code: 'SEALED_UNSUPPORTED_VALUE' }));
    expect(() => cipher.seal(sc, 'v', row(Number.NaN, 'a'))).toThrow(expect.objectContaining({ code: 'SEALED_UNSUPPORTED_VALUE' }));
  });
});
