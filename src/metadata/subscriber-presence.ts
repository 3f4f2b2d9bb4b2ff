import type { ValueTransformer } from 'typeorm';
import { SealedError } from '../errors';

/** How many sealedSubscriber instances this process has made (TypeORM makes them on initialize). */
let subscribers = 0;

/** Called by every sealed subscriber when TypeORM instantiates it. */
export function noteSubscriber(): void {
  subscribers++;
}

/**
 * The transformer `@Encrypted()` puts on its column: the identity, except that it fails closed
 * with `SEALED_CONFIG` while no `sealedSubscriber` exists in the process, so a forgotten
 * subscriber cannot store plaintext or hand ciphertext to the application.
 */
export function requireSubscriber(entity: string, column: string): ValueTransformer {
  const missing = () =>
    new SealedError(
      'SEALED_CONFIG',
      'no sealedSubscriber(...) is registered, so this value would be stored or read without encryption; add sealedSubscriber({ keys }) to the DataSource\'s subscribers',
      { entity, column },
    );
  return {
    to(value: unknown) {
      if (subscribers === 0 && value !== null && value !== undefined && typeof value !== 'function') throw missing();
      return value;
    },
    from(value: unknown) {
      if (subscribers === 0 && value !== null && value !== undefined) throw missing();
      return value;
    },
  };
}
