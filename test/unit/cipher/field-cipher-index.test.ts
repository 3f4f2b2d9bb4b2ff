// FieldCipher's blind index calls: normalisation the application supplies, wrong types, keys.
import { generateKey, KeyRing } from 'typeorm-sealed';
import { FieldCipher } from '../../../src/cipher/field-cipher';
import type { ValueType } from '../../../src/codec/value-type';
import { bindingBytes } from '../../../src/envelope/sealer';
import { resolveBlindIndex, type BlindIndexOptions } from '../../../src/metadata/blind-index';
import type { SealedColumn } from '../../../src/metadata/column-plan';

const keys = new KeyRing({ active: generateKey() });
const indexKeys = new KeyRing({ active: generateKey(), decryptOnly: [generateKey()] });
const cipher = new FieldCipher(keys, { indexKeys });

/** A column plan entry with a blind index, as the subscriber builds it. */
function column(options: true | BlindIndexOptions, valueType: ValueType = 'string'): SealedColumn {
  const index = resolveBlindIndex(options, valueType, 'email', { entity: 'User', column: 'email' });
  return {
    entity: 'User',
    path: 'email',
    valueType,
    binding: bindingBytes('user', 'email'),
    maxLength: undefined,
    index: { ...index, column: undefined as never },
  } as unknown as SealedColumn;
}

describe('FieldCipher blind index values', () => {
  it('computes one value per index key for lookups, the active key first', () => {
    const sc = column({ normalize: ['trim', 'lowercase'] });
    const values = cipher.indexValues(sc, ' Alice@Example.com');
    expect(values.map((v) => v.slice(0, 8))).toEqual(indexKeys.keyIds);
    expect(values[0]).toBe(cipher.index(sc, 'alice@example.com'));
    expect(cipher.sameIndexedValue(sc, 'ALICE@example.com ', 'alice@EXAMPLE.com')).toBe(true);
    expect(cipher.sameIndexedValue(sc, 'alice@example.com', 'bob@example.com')).toBe(false);
  });

  it('refuses a normalize function that throws, without its message (it may quote the value)', () => {
    const sc = column({
      normalize: (s) => {
        throw new Error(`cannot normalise ${s}`);
      },
    });
    expect(() => cipher.index(sc, 'secret@example.com')).toThrow(
      expect.objectContaining({ code: 'SEALED_CONFIG', entity: 'User', column: 'email', message: expect.not.stringContaining('secret') }),
    );
  });

  it('refuses a normalize function that returns something other than a string', () => {
    const sc = column({ normalize: () => 42 as unknown as string });
    expect(() => cipher.index(sc, 'a')).toThrow(
      expect.objectContaining({ code: 'SEALED_CONFIG', message: expect.stringContaining('returned number, not a string') }),
    );
  });

  it('names the expected type when the value is of another type', () => {
    expect(() => cipher.index(column(true), 42)).toThrow(
      expect.objectContaining({ code: 'SEALED_UNSUPPORTED_VALUE', message: expect.stringContaining('a string') }),
    );
  });

  it('refuses a field with an index when the cipher has no index keys, naming indexKeys', () => {
    expect(() => new FieldCipher(keys).index(column(true), 'a')).toThrow(
      expect.objectContaining({ code: 'SEALED_CONFIG', message: expect.stringContaining('indexKeys') }),
    );
  });
});
