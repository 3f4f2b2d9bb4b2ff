import type { DataSource } from 'typeorm';
import { SealedError } from '../errors';
import type { FieldCipher } from './field-cipher';

/**
 * The brand of every subscriber made by `sealedSubscriber()`; its value is the subscriber's
 * {@link FieldCipher}. A `Symbol.for` key, not `instanceof`: two copies of this package in one
 * process (a global CLI and the application's own) find each other's subscribers and ciphers.
 */
export const FIELD_CIPHER = Symbol.for('typeorm-sealed.v1.field-cipher');

/** The subscribers of a DataSource that carry a field cipher, in TypeORM's order. */
export function cipherSubscribersOf(dataSource: DataSource): { readonly [FIELD_CIPHER]: FieldCipher }[] {
  return (dataSource.subscribers as object[]).filter((s): s is { [FIELD_CIPHER]: FieldCipher } => typeof s === 'object' && s !== null && FIELD_CIPHER in s);
}

/** Every field cipher made for a sealedSubscriber in this process (copy of the package), oldest first. */
const configured: FieldCipher[] = [];

/** Records a cipher made by `sealedSubscriber()`, for {@link fieldCipherOf}'s migration fallback. */
export function noteConfigured(cipher: FieldCipher): void {
  configured.push(cipher);
}

/**
 * The field cipher of a DataSource's sealed subscriber. With `orOnlyConfigured`, a DataSource
 * without one (TypeORM's CLI sets `subscribers: []` for its migration commands) falls back to the
 * only sealedSubscriber configured in this process, if there is exactly one. `SEALED_CONFIG`
 * otherwise, and when the DataSource has several.
 */
export function fieldCipherOf(dataSource: DataSource, orOnlyConfigured = false): FieldCipher {
  const registered = cipherSubscribersOf(dataSource);
  if (registered.length === 1) return registered[0]![FIELD_CIPHER];
  if (registered.length > 1) {
    throw new SealedError('SEALED_CONFIG', `${registered.length} sealed subscribers are registered on this DataSource: register exactly one`);
  }
  if (orOnlyConfigured && configured.length === 1) return configured[0]!;
  throw new SealedError(
    'SEALED_CONFIG',
    !orOnlyConfigured || configured.length === 0
      ? 'no sealedSubscriber(...) is registered on this DataSource (is it initialized?); pass { keys } explicitly'
      : "no sealedSubscriber(...) is registered on this DataSource (TypeORM's CLI removes subscribers while it runs migrations), " +
          `and this process configured ${configured.length}, so which keys to use is ambiguous; pass { keys } explicitly`,
  );
}
