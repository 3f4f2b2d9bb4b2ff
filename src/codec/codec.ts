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
      if (!isWellFormed(value)) throw new CodecError('the string holds a lone UTF-16 surrogate, which UTF-8 cannot store');
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
    case 'json':
      return tagged(type, textEncoder.encode(jsonText(value)));
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw mismatch('a Buffer or Uint8Array', value);
      return tagged(type, value);
  }
}

/** The value type a plaintext's tag byte names; undefined for an unknown tag. */
export function typeOfEncoded(bytes: Uint8Array): ValueType | undefined {
  return TAG_TYPES.get(bytes[0]!);
}

/**
 * Decodes `tag byte || body` back to the typed value. Bytes come back as a Buffer. Throws
 * {@link CodecError} with a fixed message (never text from the value) when the body is invalid.
 */
export function decodeValue(bytes: Uint8Array): unknown {
  const body = bytes.subarray(1);
  switch (typeOfEncoded(bytes)) {
    case 'string':
      return utf8(body);
    case 'number':
      return readFloat64(body);
    case 'bigint': {
      const text = utf8(body);
      if (!/^-?[0-9]+$/.test(text)) throw new CodecError('bigint body is not a decimal integer');
      return BigInt(text);
    }
    case 'boolean':
      if (body.length !== 1 || body[0]! > 1) throw new CodecError('boolean body is not one byte 0 or 1');
      return body[0] === 1;
    case 'date':
      return new Date(readFloat64(body));
    case 'json':
      try {
        return JSON.parse(utf8(body));
      } catch {
        throw new CodecError('JSON body does not parse');
      }
    case 'bytes':
      return Buffer.from(body);
    default:
      throw new CodecError('unknown type tag');
  }
}

function utf8(body: Uint8Array): string {
  try {
    return textDecoder.decode(body);
  } catch {
    throw new CodecError('text body is not valid UTF-8');
  }
}

/**
 * JSON text of a value, or a CodecError when JSON cannot represent it: undefined, a function, a
 * symbol, a bigint (also nested), a circular structure, or a value whose toJSON returns nothing.
 */
function jsonText(value: unknown): string {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw mismatch('a JSON-serialisable value', value);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    throw new CodecError('the value cannot be written as JSON (a circular structure, a bigint, or a toJSON that throws)');
  }
  if (text === undefined) throw new CodecError('the value has no JSON form (its toJSON returns undefined)');
  return text;
}

/** Whether a string has no lone UTF-16 surrogates (String.prototype.isWellFormed, Node >= 20). */
export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
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
