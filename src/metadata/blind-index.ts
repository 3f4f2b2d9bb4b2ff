import type { ValueType } from '../codec/value-type';
import { SealedError } from '../errors';

/** A normalisation step applied to a string before its blind index is computed. */
export type Normalization = 'trim' | 'lowercase' | 'nfc' | 'nfkc';

/**
 * Options of a blind index (`@Encrypted({ index: { ... } })`): a keyed hash of the plaintext,
 * stored in its own column, that finds rows by the field's value without decrypting them.
 */
export interface BlindIndexOptions {
  /**
   * Steps applied, in order, to a string before hashing, on writes and lookups alike, so values
   * that differ only there find each other (and collide in a unique index): `'trim'` (Unicode
   * white space at both ends), `'lowercase'` (locale-independent), `'nfc'` / `'nfkc'` (Unicode
   * normal forms), or a function from string to string. Strings only. Default: `'nfc'`. For
   * e-mail addresses: `['trim', 'lowercase', 'nfc']`.
   */
  normalize?: Normalization | readonly Normalization[] | ((value: string) => string);
  /**
   * Bits of the keyed hash kept, a multiple of 4 from 8 to 256. Default: `128`, where two different
   * values never share an index value in practice, so a lookup reads only matching rows and a
   * unique index is exact. Fewer bits make different values share index values on purpose, which
   * hides how often each value occurs: with R rows, a lookup reads about R / 2^bits extra rows
   * (dropped after decryption); pick bits so that this is between 2 and sqrt(R), e.g. 16 bits for
   * a million rows. `unique` needs at least 128.
   */
  bits?: number;
  /** Make the database refuse a second row with the same (normalised) value. Needs `bits >= 128`. Default: `false`. */
  unique?: boolean;
  /** Database name of the index column. Default: the naming strategy's name for the property `<property>BlindIndex`. */
  column?: string;
  /**
   * Compute the index with scrypt (N = 2^logN, r = 8, p = 1) instead of HMAC-SHA256, for
   * low-entropy values (dates of birth, PINs) where an attacker holding a leaked index key could
   * try every possible value. It costs about as much on every write and lookup of the field (see
   * the README for measured figures). `true` means `{ logN: 14 }`. Default: `false`.
   */
  slow?: boolean | { logN: number };
}

/** A blind index as `@Encrypted()` resolved it. */
export interface BlindIndexSpec {
  /** Property name of the index column on the entity. */
  readonly property: string;
  readonly bits: number;
  readonly unique: boolean;
  /** scrypt's log2(N) for a slow index; undefined for HMAC-SHA256. */
  readonly slowLogN: number | undefined;
  /** Applies the normalisation steps; for numbers, -0 becomes 0 (they are equal); the identity for other types. */
  readonly normalize: (value: unknown) => unknown;
}

const STEPS: Readonly<Record<Normalization, (s: string) => string>> = {
  trim: (s) => s.trim(),
  lowercase: (s) => s.toLowerCase(),
  nfc: (s) => s.normalize('NFC'),
  nfkc: (s) => s.normalize('NFKC'),
};
const OPTIONS: readonly (keyof BlindIndexOptions)[] = ['normalize', 'bits', 'unique', 'column', 'slow'];

/** Characters an index value takes for `bits`: `<8-hex key id>:` and bits / 4 hex digits. */
export function blindIndexLength(bits: number): number {
  return 9 + bits / 4;
}

/** Checks `@Encrypted({ index })` and resolves its defaults; `SEALED_CONFIG` naming what is wrong. */
export function resolveBlindIndex(
  input: true | BlindIndexOptions,
  valueType: ValueType,
  property: string,
  where: { entity: string; column: string },
): BlindIndexSpec {
  const options: BlindIndexOptions = input === true ? {} : input;
  const fail = (message: string) => new SealedError('SEALED_CONFIG', `index: ${message}`, where);
  if (typeof options !== 'object' || options === null) throw fail('expected true or { normalize, bits, unique, column, slow }');
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key as keyof BlindIndexOptions)) throw fail(`has no option "${key}"; it takes ${OPTIONS.join(', ')}`);
  }
  const bits = options.bits ?? 128;
  if (!Number.isInteger(bits) || bits % 4 !== 0 || bits < 8 || bits > 256) throw fail('bits must be a multiple of 4 from 8 to 256');
  const unique = options.unique ?? false;
  if (unique && bits < 128) throw fail(`a unique index needs bits >= 128 (got ${bits}): shorter index values of different values collide`);
  if (options.column !== undefined && (typeof options.column !== 'string' || options.column === '')) throw fail('column must be a non-empty string');
  const slow = options.slow === true ? { logN: 14 } : options.slow || undefined;
  if (slow !== undefined && (!Number.isInteger(slow.logN) || slow.logN < 10 || slow.logN > 20)) throw fail('slow.logN must be an integer from 10 to 20');
  if (options.normalize !== undefined && valueType !== 'string') throw fail(`normalize applies to strings; this field's valueType is ${valueType}`);
  return {
    property: `${property}BlindIndex`,
    bits,
    unique,
    slowLogN: slow?.logN,
    normalize:
      valueType === 'string'
        ? normalizer(options.normalize ?? 'nfc', fail)
        : valueType === 'number'
          ? (value) => (Object.is(value, -0) ? 0 : value)
          : (value) => value,
  };
}

function normalizer(option: NonNullable<BlindIndexOptions['normalize']>, fail: (message: string) => SealedError): (value: unknown) => unknown {
  if (typeof option === 'function') return (value) => option(value as string);
  const refused = () => fail(`normalize takes a step (${Object.keys(STEPS).join(', ')}), an array of steps, or a function`);
  if (typeof option !== 'string' && !Array.isArray(option)) throw refused();
  const steps = (typeof option === 'string' ? [option] : option).map((step) => {
    if (typeof step !== 'string' || !Object.hasOwn(STEPS, step)) throw refused();
    return STEPS[step as Normalization];
  });
  return (value) => steps.reduce((s, step) => step(s), value as string);
}
