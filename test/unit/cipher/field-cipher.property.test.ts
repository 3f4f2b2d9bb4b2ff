// Properties of the field cipher over generated values: every value of every type comes back equal
// through seal/open and through its legacy text form; every stored string that is not an intact
// envelope of its column fails with a typed SealedError, never with another error or a value.
import fc from 'fast-check';
import { generateKey, KeyRing, SealedError } from 'typeorm-sealed';
import { FieldCipher } from '../../../src/cipher/field-cipher';
import { bindingBytes } from '../../../src/envelope/sealer';
import type { ValueType } from '../../../src/codec/value-type';
import type { SealedColumn } from '../../../src/metadata/column-plan';

const ring = new KeyRing({ active: generateKey() });
const cipher = new FieldCipher(ring);
const other = new FieldCipher(new KeyRing({ active: generateKey() }));

/** A column plan entry as the subscriber builds it; the cipher reads only these fields. */
function column(valueType: ValueType, table = 'account', name = 'secret'): SealedColumn {
  return { column: undefined as never, entity: 'Account', path: name, valueType, binding: bindingBytes(table, name), maxLength: undefined };
}

/** Well-formed values of each type (JSON: what JSON.stringify/parse round-trips). */
const VALUES: Record<ValueType, fc.Arbitrary<unknown>> = {
  string: fc.string({ unit: 'grapheme', maxLength: 200 }),
  number: fc.double({ noNaN: true }).filter((n) => !Object.is(n, -0)),
  bigint: fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
  boolean: fc.boolean(),
  date: fc.date({ noInvalidDate: true }),
  json: fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown),
  bytes: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
};

const TYPES = Object.keys(VALUES) as ValueType[];
const RUNS = { numRuns: 300 };

/** The typed error `open` throws for a stored string, or the value it returns. */
function openOutcome(sc: SealedColumn, stored: string): { error: unknown } | { value: unknown } {
  try {
    return { value: cipher.open(sc, stored) };
  } catch (error) {
    return { error };
  }
}

describe('FieldCipher properties', () => {
  it.each(TYPES)('%s: open(seal(v)) equals v, and the envelope names the active key', (type) => {
    const sc = column(type);
    fc.assert(
      fc.property(VALUES[type], (value) => {
        const stored = cipher.seal(sc, value);
        expect(stored.startsWith(`sealed:1:x:${ring.activeKeyId}:`)).toBe(true);
        expect(cipher.open(sc, stored)).toEqual(value);
      }),
      RUNS,
    );
  });

  it.each(TYPES)('%s: the legacy text form reads back equal (decryptAll, then encryptExisting)', (type) => {
    const sc = column(type);
    fc.assert(
      fc.property(VALUES[type], (value) => {
        expect(cipher.readLegacy(sc, cipher.legacyText(sc, value))).toEqual(value);
      }),
      RUNS,
    );
  });

  it('never opens an altered envelope: any one character changed, removed or added fails as SEALED_TAMPERED or SEALED_MALFORMED', () => {
    const sc = column('string');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:=+/ 1x';
    fc.assert(
      fc.property(VALUES.string, fc.nat(), fc.constantFrom(...alphabet), fc.constantFrom('replace', 'delete', 'insert'), (value, at, c, edit) => {
        const stored = cipher.seal(sc, value);
        const i = at % stored.length;
        const altered =
          edit === 'replace'
            ? stored.slice(0, i) + c + stored.slice(i + 1)
            : edit === 'delete'
              ? stored.slice(0, i) + stored.slice(i + 1)
              : stored.slice(0, i) + c + stored.slice(i);
        fc.pre(altered !== stored);
        const outcome = openOutcome(sc, altered);
        expect(outcome).toHaveProperty('error');
        const error = (outcome as { error: unknown }).error;
        expect(error).toBeInstanceOf(SealedError);
        expect(['SEALED_TAMPERED', 'SEALED_MALFORMED', 'SEALED_WRONG_KEY', 'SEALED_PLAINTEXT']).toContain((error as SealedError).code);
      }),
      RUNS,
    );
  });

  it('fails closed on any stored string that is not an envelope of this column under a known key, and never echoes it', () => {
    const sc = column('string');
    const stored = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.string({ maxLength: 120 }).map((s) => `sealed:${s}`),
      fc.string({ maxLength: 120 }).map((s) => `sealed:1:x:${ring.activeKeyId}:${s}`),
      VALUES.string.map((v) => cipher.seal(column('string', 'account', 'other'), v)), // another column
      VALUES.string.map((v) => cipher.seal(column('string', 'other_table'), v)), // another table
      VALUES.string.map((v) => other.seal(sc, v)), // another key
    );
    fc.assert(
      fc.property(stored, (text) => {
        const outcome = openOutcome(sc, text);
        expect(outcome).toHaveProperty('error');
        const error = (outcome as { error: unknown }).error;
        expect(error).toBeInstanceOf(SealedError);
        const body = text.split(':').at(-1)!;
        if (body.length >= 12) expect(`${(error as Error).message}${JSON.stringify(error)}`).not.toContain(body);
      }),
      RUNS,
    );
  });

  it('refuses a value of the wrong type with SEALED_UNSUPPORTED_VALUE, naming the column and not the value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), fc.string({ minLength: 12, maxLength: 40 }), (type, text) => {
        fc.pre(type !== 'string' && type !== 'json');
        let error: unknown;
        try {
          cipher.seal(column(type), text);
        } catch (e) {
          error = e;
        }
        expect(error).toMatchObject({ code: 'SEALED_UNSUPPORTED_VALUE', entity: 'Account', column: 'secret' });
        expect((error as Error).message).not.toContain(text);
      }),
      RUNS,
    );
  });
});
