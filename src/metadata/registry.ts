import type { ValueType } from '../codec/value-type';
import type { BlindIndexSpec } from './blind-index';

/** What `@Encrypted()` recorded about one property. */
export interface SealedPropertySpec {
  valueType: ValueType;
  boundTo: { table?: string; column?: string };
  /** The field's blind index, when it has one. */
  index?: BlindIndexSpec;
  /** The property whose value is the row's key scope, when the field is scoped. */
  scope?: string;
  /** Whether values are bound to their row's primary key. */
  bindRow?: boolean;
}

/**
 * Declared properties, per class. Kept on `globalThis` under a `Symbol.for` key so that two copies
 * of this package in one process (a globally installed CLI and the application's own copy) see the
 * same declarations.
 */
const REGISTRY = Symbol.for('typeorm-sealed.v1.sealed-properties');
const properties: WeakMap<object, Map<string, SealedPropertySpec>> = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new WeakMap()) as WeakMap<
  object,
  Map<string, SealedPropertySpec>
>;

export function registerSealedProperty(target: object, property: string, spec: SealedPropertySpec): void {
  let byProperty = properties.get(target);
  if (!byProperty) properties.set(target, (byProperty = new Map()));
  byProperty.set(property, spec);
}

/** The spec of a property declared with `@Encrypted()` on `target` (the declaring class). */
export function sealedPropertySpec(target: unknown, property: string): SealedPropertySpec | undefined {
  return typeof target === 'function' ? properties.get(target)?.get(property) : undefined;
}
