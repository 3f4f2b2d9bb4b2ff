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
function sealedPropertySpec(target: unknown, property: string): SealedPropertySpec | undefined {
  return typeof target === 'function' ? properties.get(target)?.get(property) : undefined;
}

const CARRIED_SPEC = Symbol.for('typeorm-sealed.v1.carried-spec');

/**
 * Puts the spec of an `EntitySchema` field (`sealedEntitySchema`) on its column's fail-closed
 * transformer, which TypeORM copies into the column's metadata: a schema may have no class to key
 * the registry by, and its name is not unique across DataSources.
 */
export function carrySpec<T extends object>(transformer: T, spec: SealedPropertySpec): T {
  Object.defineProperty(transformer, CARRIED_SPEC, { value: spec });
  return transformer;
}

/**
 * The spec of an encrypted column: declared with `@Encrypted()` (by its class and property), or
 * carried by its transformer (`sealedEntitySchema`). Ask before the sealed subscriber removes the
 * transformer: the column plan (`sealedColumnsOf`) keeps what it found.
 */
export function sealedSpecOf(column: { target: unknown; propertyName: string; transformer?: unknown }): SealedPropertySpec | undefined {
  return sealedPropertySpec(column.target, column.propertyName) ?? (column.transformer as { [CARRIED_SPEC]?: SealedPropertySpec } | undefined)?.[CARRIED_SPEC];
}
