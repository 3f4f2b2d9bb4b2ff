import type { ValueType } from '../codec/value-type';

/** What `@Encrypted()` recorded about one property. */
export interface SealedPropertySpec {
  valueType: ValueType;
  boundTo: { table?: string; column?: string };
}

const properties = new WeakMap<object, Map<string, SealedPropertySpec>>();

export function registerSealedProperty(target: object, property: string, spec: SealedPropertySpec): void {
  let byProperty = properties.get(target);
  if (!byProperty) properties.set(target, (byProperty = new Map()));
  byProperty.set(property, spec);
}

/** The spec of a property declared with `@Encrypted()` on `target` (the declaring class). */
export function sealedPropertySpec(target: unknown, property: string): SealedPropertySpec | undefined {
  return typeof target === 'function' ? properties.get(target)?.get(property) : undefined;
}
