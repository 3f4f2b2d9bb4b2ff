import type { ValueTransformer } from 'typeorm';
import { SealedError } from '../errors';

/** Marks the transformers below, so a subscriber can tell them from a transformer someone else set. */
export const FAIL_CLOSED = Symbol.for('typeorm-sealed.v1.fail-closed-transformer');

/** Whether a column's transformer is one of {@link failClosedTransformer}'s (the column claims encryption). */
export function isFailClosed(transformer: unknown): boolean {
  return (transformer as { [FAIL_CLOSED]?: boolean } | undefined)?.[FAIL_CLOSED] === true;
}

/**
 * The transformer `@Encrypted()` puts on its column, so that a DataSource without a
 * `sealedSubscriber` fails closed with `SEALED_CONFIG` instead of storing plaintext or handing
 * ciphertext to the application: it refuses every non-null value. `unwiredSchema`: the one
 * `encryptedColumn()` returns, before `sealedEntitySchema` names its entity and column. The sealed subscriber removes it
 * from the columns of its own DataSource the first time that DataSource reaches it (its first query
 * or write event), so it never runs there.
 */
export function failClosedTransformer(entity: string, column: string, unwiredSchema = false): ValueTransformer {
  const missing = () =>
    new SealedError(
      'SEALED_CONFIG',
      unwiredSchema
        ? 'a column declared with encryptedColumn(...) in a schema made with new EntitySchema(...) is not encrypted: make the schema with ' +
            'sealedEntitySchema(...), and register sealedSubscriber({ keys }) on the DataSource'
        : 'this DataSource has no sealedSubscriber(...), so the value would be stored or read without encryption: add sealedSubscriber({ keys }) ' +
            "to its subscribers (TypeORM's own CLI removes subscribers while it runs migrations: seal values there with KeyRotator.forMigration)",
      unwiredSchema ? {} : { entity, column },
    );
  return {
    [FAIL_CLOSED]: true,
    to(value: unknown) {
      if (value === null || value === undefined) return value;
      throw missing();
    },
    from(value: unknown) {
      if (value === null || value === undefined) return value;
      throw missing();
    },
  } as ValueTransformer;
}
