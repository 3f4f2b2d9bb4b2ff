import { encodeValue } from '../../../src/codec/codec';
import type { ValueType } from '../../../src/codec/value-type';
import { bindingBytes, Sealer } from '../../../src/envelope/sealer';
import type { KeyRing } from 'typeorm-sealed';

/** The envelope a ring's active key gives `value` in `table.column`, as the subscriber would store it. */
export function sealFor(keys: KeyRing, table: string, column: string, type: ValueType, value: unknown): string {
  return new Sealer(keys).seal(encodeValue(value, type), bindingBytes(table, column));
}
