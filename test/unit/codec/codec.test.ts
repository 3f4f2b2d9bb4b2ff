import { CodecError, decodeValue, encodeValue, typeOfEncoded } from '../../../src/codec/codec';
import { parseLegacyValue, toLegacyText } from '../../../src/codec/legacy';
import type { ValueType } from '../../../src/codec/value-type';

const cases: [ValueType, unknown][] = [
  ['string', ''],
  ['string', 'Zoë 🔐 \u0000 end'],
  ['number', 0],
  ['number', -0],
  ['number', Number.NaN],
  ['number', Number.POSITIVE_INFINITY],
  ['number', 1.7976931348623157e308],
  ['bigint', -(2n ** 200n)],
  ['boolean', true],
  ['boolean', false],
  ['date', new Date('1969-12-31T23:59:59.999Z')],
  ['json', { a: [1, 'two', null, { b: true }] }],
  ['json', 'a JSON string'],
  ['json', null],
  ['bytes', Buffer.from([0, 255, 128])],
];

describe('codec', () => {
  it.each(cases)('round-trips %s %p', (type, value) => {
    const decoded = decodeValue(encodeValue(value, type));
    if (Buffer.isBuffer(value)) expect(Buffer.isBuffer(decoded) && decoded.equals(value)).toBe(true);
    else expect(decoded).toEqual(value);
    if (Object.is(value, -0)) expect(Object.is(decoded, -0)).toBe(true);
  });

  it('turns a Uint8Array into a Buffer', () => {
    expect(decodeValue(encodeValue(new Uint8Array([1, 2]), 'bytes'))).toEqual(Buffer.from([1, 2]));
  });

  it.each([
    ['string', 42, 'expected a string, got number'],
    ['number', '42', 'expected a number, got string'],
    ['bigint', 42, 'expected a bigint, got number'],
    ['boolean', 'true', 'expected a boolean, got string'],
    ['date', '2020-01-01', 'expected a Date, got string'],
    ['date', new Date('nope'), 'expected a valid Date, got an invalid Date'],
    ['json', undefined, 'expected a JSON-serialisable value, got undefined'],
    ['bytes', [1, 2], 'expected a Buffer or Uint8Array, got an array'],
  ] as [ValueType, unknown, string][])('refuses a %s column value %p', (type, value, message) => {
    expect(() => encodeValue(value, type)).toThrow(new CodecError(message));
  });

  it('refuses JSON values that JSON cannot represent, with fixed messages', () => {
    const circular: Record<string, unknown> = { secret: 'hunter22' };
    circular.self = circular;
    const throwing = {
      toJSON: () => {
        throw new Error('hunter22');
      },
    };
    for (const value of [circular, { n: 12345678901234567890n }, { toJSON: () => undefined }, throwing]) {
      let message = '';
      try {
        encodeValue(value, 'json');
      } catch (e) {
        expect(e).toBeInstanceOf(CodecError);
        message = (e as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toMatch(/hunter22|self|circular structure --|BigInt/);
    }
  });

  it('refuses a string with a lone surrogate instead of storing U+FFFD, and keeps one inside JSON exactly', () => {
    expect(() => encodeValue('a\uD800b', 'string')).toThrow(new CodecError('the string holds a lone UTF-16 surrogate, which UTF-8 cannot store'));
    expect(() => encodeValue('\uDC00', 'string')).toThrow(CodecError);
    expect(decodeValue(encodeValue('pair \uD83D\uDD10 ok', 'string'))).toBe('pair \uD83D\uDD10 ok');
    const json = { 'k\uDBFF': ['a\uD800b'] };
    expect(decodeValue(encodeValue(json, 'json'))).toEqual(json);
  });

  it('decodes bad bodies with fixed messages that never quote the body', () => {
    const body = (tag: string, text: string) => Uint8Array.from([tag.charCodeAt(0), ...Buffer.from(text)]);
    for (const [bytes, reason] of [
      [body('j', '{"password":"hunter22"'), 'JSON body does not parse'],
      [body('i', 'hunter22'), 'bigint body is not a decimal integer'],
      [body('i', ''), 'bigint body is not a decimal integer'],
      [Uint8Array.of(0x73, 0xff, 0xfe), 'text body is not valid UTF-8'],
    ] as const) {
      expect(() => decodeValue(bytes)).toThrow(new CodecError(reason));
    }
  });

  it('names the type a plaintext was sealed as', () => {
    expect(typeOfEncoded(encodeValue(1, 'number'))).toBe('number');
    expect(typeOfEncoded(encodeValue('1', 'string'))).toBe('string');
    expect(typeOfEncoded(Uint8Array.of(0x51))).toBeUndefined();
  });

  it('refuses unknown tags and bad bodies', () => {
    expect(() => decodeValue(Uint8Array.of(0x51, 1))).toThrow(/unknown type tag/);
    expect(() => decodeValue(Uint8Array.of(0x6e, 1, 2))).toThrow(/number body is 2 bytes/);
    expect(() => decodeValue(Uint8Array.of(0x62, 7))).toThrow(/boolean body/);
  });
});

describe('parseLegacyValue', () => {
  it.each([
    ['string', 'x', 'x'],
    ['number', '42.5', 42.5],
    ['bigint', '9007199254740993', 9007199254740993n],
    ['boolean', '1', true],
    ['boolean', 'false', false],
    ['date', '2000-01-02T03:04:05.000Z', new Date('2000-01-02T03:04:05.000Z')],
    ['json', '{"a":1}', { a: 1 }],
    ['bytes', 'AP+A', Buffer.from([0, 255, 128])],
    ['number', 'NaN', Number.NaN],
  ] as [ValueType, string, unknown][])('reads %s from %p', (type, raw, expected) => {
    expect(parseLegacyValue(raw, type)).toEqual(expected);
  });

  it.each([
    ['number', 'forty'],
    ['number', ' '],
    ['bigint', '1.5'],
    ['boolean', 'yes'],
    ['date', 'someday'],
    ['json', '{'],
    ['bytes', 'not base64!'],
  ] as [ValueType, string][])('refuses %s from %p', (type, raw) => {
    expect(() => parseLegacyValue(raw, type)).toThrow(CodecError);
  });

  it.each(cases)('reads back what toLegacyText writes for %s %p', (type, value) => {
    const back = parseLegacyValue(toLegacyText(value, type), type);
    expect(back).toEqual(value);
    expect(Object.is(back, -0)).toBe(Object.is(value, -0));
  });

  it('converts what drivers return for columns not widened yet: 0/1 booleans (SQLite, MySQL tinyint), numbers, dates, blobs', () => {
    expect(parseLegacyValue(7, 'number')).toBe(7);
    expect(parseLegacyValue(1, 'boolean')).toBe(true);
    expect(parseLegacyValue(0, 'boolean')).toBe(false);
    expect(parseLegacyValue(1n, 'boolean')).toBe(true);
    expect(parseLegacyValue(true, 'boolean')).toBe(true);
    expect(parseLegacyValue(42, 'bigint')).toBe(42n);
    expect(parseLegacyValue(42n, 'number')).toBe(42);
    expect(parseLegacyValue(42, 'string')).toBe('42');
    expect(parseLegacyValue(1.5, 'json')).toBe(1.5);
    const when = new Date('2020-01-02T03:04:05Z');
    expect(parseLegacyValue(when, 'date')).toBe(when);
    expect(parseLegacyValue(new Uint8Array([1, 2]), 'bytes')).toEqual(Buffer.from([1, 2]));
  });

  it.each([
    [2, 'boolean'],
    [1.5, 'bigint'],
    [2n ** 60n, 'number'],
    [new Date('nope'), 'date'],
    [{ a: 1 }, 'string'],
    [7, 'date'],
  ] as [unknown, ValueType][])('refuses the driver value %p as %s', (raw, type) => {
    expect(() => parseLegacyValue(raw, type)).toThrow(CodecError);
  });

  it('refuses an empty or padded-with-words bigint instead of reading 0n', () => {
    expect(() => parseLegacyValue('', 'bigint')).toThrow(CodecError);
    expect(() => parseLegacyValue('0x10', 'bigint')).toThrow(CodecError);
    expect(parseLegacyValue(' -12 ', 'bigint')).toBe(-12n);
  });
});
