/** The JavaScript types an encrypted column can hold. */
export type ValueType = 'string' | 'number' | 'bigint' | 'boolean' | 'date' | 'json' | 'bytes';

export const VALUE_TYPES: readonly ValueType[] = ['string', 'number', 'bigint', 'boolean', 'date', 'json', 'bytes'];

/** One-byte tag stored in front of every plaintext, so a value decodes without its metadata. */
export const TYPE_TAGS: Readonly<Record<ValueType, number>> = {
  string: 0x73, // 's'
  number: 0x6e, // 'n'
  bigint: 0x69, // 'i'
  boolean: 0x62, // 'b'
  date: 0x64, // 'd'
  json: 0x6a, // 'j'
  bytes: 0x78, // 'x'
};

export const TAG_TYPES: ReadonlyMap<number, ValueType> = new Map((Object.entries(TYPE_TAGS) as [ValueType, number][]).map(([type, tag]) => [tag, type]));

/**
 * The value type a property's TypeScript type implies (from `design:type` metadata), or
 * undefined when it is ambiguous (a union such as `Date | null`, an object type) or missing (a
 * compiler without decorator metadata).
 */
export function valueTypeOfDesignType(designType: unknown): ValueType | undefined {
  switch (designType) {
    case String:
      return 'string';
    case Number:
      return 'number';
    case BigInt:
      return 'bigint';
    case Boolean:
      return 'boolean';
    case Date:
      return 'date';
    case Buffer:
    case Uint8Array:
      return 'bytes';
    case Array:
      return 'json';
    default:
      // Object is what TypeScript emits for unions (`Date | null`) as well as for object types:
      // guessing JSON would hand a Date back as a string. The decorator asks for valueType.
      return undefined;
  }
}
