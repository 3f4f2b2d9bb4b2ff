import { CodecError } from './codec';
import type { ValueType } from './value-type';

/**
 * The plaintext text form of values, used for data written before a column was encrypted and for
 * what `decryptAll` writes back: strings as they are, numbers and bigints in decimal, booleans as
 * `true`/`false`, dates as ISO 8601, JSON as JSON text, bytes as base64. `parseLegacyValue`
 * reads every form `toLegacyText` writes back to an equal value.
 */
export function toLegacyText(value: unknown, type: ValueType): string {
  switch (type) {
    case 'date':
      return (value as Date).toISOString();
    case 'json':
      return JSON.stringify(value);
    case 'bytes':
      return Buffer.from(value as Uint8Array).toString('base64');
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    default:
      return String(value);
  }
}

/**
 * Reads a legacy plaintext value (stored before the column was encrypted) as the declared type.
 * Used with plaintext passthrough and by `encryptExisting`. Text columns come back as strings;
 * a column whose storage kept another type (SQLite's dynamic typing, a MySQL `tinyint` boolean
 * read before the column was widened) comes back as a number, bigint, boolean, Date or Buffer and
 * is converted where the conversion is exact. Errors have fixed messages, never the value.
 */
export function parseLegacyValue(raw: unknown, type: ValueType): unknown {
  if (typeof raw !== 'string') return fromNative(raw, type);
  switch (type) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || (Number.isNaN(n) && raw !== 'NaN')) throw new CodecError('legacy value is not a number');
      return n;
    }
    case 'bigint':
      if (!/^\s*[-+]?[0-9]+\s*$/.test(raw)) throw new CodecError('legacy value is not a decimal integer');
      return BigInt(raw.trim());
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new CodecError('legacy value is not true/false/1/0');
    case 'date': {
      const d = new Date(raw);
      if (Number.isNaN(d.getTime())) throw new CodecError('legacy value is not a date');
      return d;
    }
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        throw new CodecError('legacy value is not JSON');
      }
    case 'bytes':
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 === 1) throw new CodecError('legacy value is not base64');
      return Buffer.from(raw, 'base64');
  }
}

/** A legacy value the driver returned as a non-string JavaScript value. */
function fromNative(raw: unknown, type: ValueType): unknown {
  const fail = () => new CodecError(`legacy value of this JavaScript type does not convert to ${type}`);
  switch (type) {
    case 'string':
      if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
      throw fail();
    case 'number':
      if (typeof raw === 'number') return raw;
      if (typeof raw === 'bigint' && Number.isSafeInteger(Number(raw))) return Number(raw);
      throw fail();
    case 'bigint':
      if (typeof raw === 'bigint') return raw;
      if (typeof raw === 'number' && Number.isSafeInteger(raw)) return BigInt(raw);
      throw fail();
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 0 || raw === 1 || raw === 0n || raw === 1n) return Number(raw) === 1;
      throw fail();
    case 'date':
      if (raw instanceof Date && !Number.isNaN(raw.getTime())) return raw;
      throw fail();
    case 'json':
      if (typeof raw === 'number' || typeof raw === 'boolean') return raw;
      throw fail();
    case 'bytes':
      if (raw instanceof Uint8Array) return Buffer.from(raw);
      throw fail();
  }
}
