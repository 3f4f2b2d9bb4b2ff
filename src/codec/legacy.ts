import { CodecError } from './codec';
import type { ValueType } from './value-type';

/**
 * Reads a legacy plaintext value (stored before the column was encrypted) as the declared type.
 * Only used when plaintext passthrough is enabled. The database hands text columns back as
 * strings; values written by a driver that kept a non-string type pass through as they are.
 */
export function parseLegacyValue(raw: unknown, type: ValueType): unknown {
  if (typeof raw !== 'string') return raw;
  switch (type) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || Number.isNaN(n)) throw new CodecError('legacy value is not a number');
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
      return Buffer.from(raw, 'utf8');
  }
}
