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
 * Used with plaintext passthrough and by `encryptExisting`. The database hands text columns back
 * as strings; values written by a driver that kept a non-string type pass through as they are.
 */
export function parseLegacyValue(raw: unknown, type: ValueType): unknown {
  if (typeof raw !== 'string') return raw;
  switch (type) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || (Number.isNaN(n) && raw !== 'NaN')) throw new CodecError('legacy value is not a number');
      return n;
    }
    case 'bigint':
      try {
        return BigInt(raw);
      } catch {
        throw new CodecError('legacy value is not an integer');
      }
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
