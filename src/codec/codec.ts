import { TAG_TYPES, TYPE_TAGS, type ValueType } from './value-type';

/** Why a value cannot be encoded; the caller wraps it in a SealedError with its column. */
export class CodecError extends Error {}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes a non-null value of the declared type as `tag byte || body` (see FORMAT.md, "Plaintext").
 * Throws {@link CodecError} naming the expected and actual type; never includes the value.
 */
export function encodeValue(value: unknown, type: ValueType): Uint8Array {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw mismatch('a string', value);
      return tagged(type, textEncoder.encode(value));
    case 'number':
      if (typeof value !== 'number') throw mismatch('a number', value);
      return float64(type, value);
    case 'bigint':
      if (typeof value !== 'bigint') throw mismatch('a bigint', value);
      return tagged(type, textEncoder.encode(value.toString(10)));
    case 'boolean':
      if (typeof value !== 'boolean') throw mismatch('a boolean', value);
      return tagged(type, Uint8Array.of(value ? 1 : 0));
    case 'date':
      if (!(value instanceof Date)) throw mismatch('a Date', value);
      if (Number.isNaN(value.getTime())) throw new CodecError('expected a valid Date, got an invalid Date');
      return float64(type, value.getTime());
    case 'json': {
      if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
        throw mismatch('a JSON-serialisable value', value);
      }
      return tagged(type, textEncoder.encode(JSON.stringify(value)));
    }
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw mismatch('a Buffer or Uint8Array', value);
      return tagged(type, value);
  }
}

/** Decodes `tag byte || body` back to the typed value. Bytes come back as a Buffer. */
export function decodeValue(bytes: Uint8Array): unknown {
  const type = TAG_TYPES.get(bytes[0]!);
  const body = bytes.subarray(1);
  switch (type) {
    case 'string':
      return textDecoder.decode(body);
    case 'number':
      return readFloat64(body);
    case 'bigint':
      return BigInt(textDecoder.decode(body));
    case 'boolean':
      if (body.length !== 1 || body[0]! > 1) throw new CodecError('boolean body is not one byte 0 or 1');
      return body[0] === 1;
    case 'date':
      return new Date(readFloat64(body));
    case 'json':
      return JSON.parse(textDecoder.decode(body));
    case 'bytes':
      return Buffer.from(body);
    default:
      throw new CodecError(`unknown type tag 0x${(bytes[0] ?? 0).toString(16).padStart(2, '0')}`);
  }
}

function tagged(type: ValueType, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = TYPE_TAGS[type];
  out.set(body, 1);
  return out;
}

function float64(type: ValueType, n: number): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = TYPE_TAGS[type];
  new DataView(out.buffer).setFloat64(1, n, false);
  return out;
}

function readFloat64(body: Uint8Array): number {
  if (body.length !== 8) throw new CodecError(`number body is ${body.length} bytes, not 8`);
  return new DataView(body.buffer, body.byteOffset, 8).getFloat64(0, false);
}

function mismatch(expected: string, value: unknown): CodecError {
  const actual = value === null ? 'null' : value instanceof Date ? 'a Date' : Array.isArray(value) ? 'an array' : typeof value;
  return new CodecError(`expected ${expected}, got ${actual}`);
}
