import { CodecError, decodeValue, encodeValue, typeOfEncoded } from '../codec/codec';
import { parseLegacyValue } from '../codec/legacy';
import { looksSealed } from '../envelope/format';
import type { Sealer } from '../envelope/sealer';
import type { KeyRing } from '../keys/key-ring';
import { SealedError, type SealedErrorContext } from '../errors';
import type { SealedColumn } from '../metadata/column-plan';

/**
 * Seals and opens the values of one column: codec + envelope + the column's binding, with errors
 * that name entity, column, primary key and key id.
 */
export class ColumnCrypto {
  constructor(
    private readonly sealer: Sealer,
    /** Read non-envelope values as legacy plaintext instead of failing. */
    readonly plaintextPassthrough: boolean,
  ) {}

  /** Encodes and seals a non-null value; checks it fits the column. */
  seal(sc: SealedColumn, value: unknown, primaryKey?: () => string | undefined): string {
    if (typeof value === 'function') {
      throw new SealedError(
        'SEALED_UNSUPPORTED_VALUE',
        'a raw SQL function cannot be encrypted: pass the value itself',
        where(sc, primaryKey),
      );
    }
    let plaintext: Uint8Array;
    try {
      plaintext = encodeValue(value, sc.valueType);
    } catch (e) {
      if (e instanceof CodecError) throw new SealedError('SEALED_UNSUPPORTED_VALUE', e.message, where(sc, primaryKey));
      throw e;
    }
    const envelope = this.sealer.seal(plaintext, sc.binding);
    if (sc.maxLength !== undefined && envelope.length > sc.maxLength) {
      throw new SealedError(
        'SEALED_VALUE_TOO_LONG',
        `the sealed value takes ${envelope.length} characters but the column holds ${sc.maxLength}; widen it (sealedLength(bytes) gives the size) or use type "text"`,
        { ...where(sc, primaryKey), keyId: this.sealer.keys.activeKeyId },
      );
    }
    return envelope;
  }

  /**
   * Opens a stored non-null value. Plaintext fails with `SEALED_PLAINTEXT` unless passthrough is
   * on, in which case it is read as the column's type.
   */
  open(sc: SealedColumn, stored: unknown, primaryKey?: () => string | undefined): unknown {
    if (!looksSealed(stored)) {
      if (!this.plaintextPassthrough) {
        throw new SealedError(
          'SEALED_PLAINTEXT',
          'the stored value is not sealed; if the column holds data written before encryption, enable plaintextPassthrough and run encryptExisting',
          where(sc, primaryKey),
        );
      }
      return this.readLegacy(sc, stored, primaryKey);
    }
    let plaintext: Uint8Array;
    try {
      plaintext = this.sealer.open(stored, sc.binding);
    } catch (e) {
      if (e instanceof SealedError) throw e.withContext(where(sc, primaryKey));
      throw e;
    }
    const sealedAs = typeOfEncoded(plaintext);
    if (sealedAs !== sc.valueType) {
      // Authentic, but sealed for another type: a column that shares its binding (boundTo) with
      // another, or a valueType changed after values were written.
      throw new SealedError(
        'SEALED_TYPE_MISMATCH',
        `the value was sealed as ${sealedAs ?? 'an unknown type'} but the column's valueType is ${sc.valueType}`,
        where(sc, primaryKey),
      );
    }
    try {
      return decodeValue(plaintext);
    } catch (e) {
      // Authenticated but undecodable: only a bug or a foreign writer with our key can cause it.
      if (e instanceof CodecError) throw new SealedError('SEALED_MALFORMED', `the opened value does not decode: ${e.message}`, where(sc, primaryKey));
      throw e;
    }
  }

  /** Reads a legacy plaintext value as the column's type; `SEALED_PLAINTEXT` when it cannot. */
  readLegacy(sc: SealedColumn, stored: unknown, primaryKey?: () => string | undefined): unknown {
    try {
      return parseLegacyValue(stored, sc.valueType);
    } catch (e) {
      if (e instanceof CodecError) throw new SealedError('SEALED_PLAINTEXT', `${e.message} (expected ${sc.valueType})`, where(sc, primaryKey));
      throw e;
    }
  }

  /** Whether a stored value is sealed under the active key (plaintext and older keys are not). */
  isCurrent(stored: unknown): boolean {
    return typeof stored === 'string' && stored.startsWith(this.sealer.activeHeader);
  }

  /** The key ring this crypto seals and opens with. */
  get keys(): KeyRing {
    return this.sealer.keys;
  }
}

function where(sc: SealedColumn, primaryKey?: () => string | undefined): SealedErrorContext {
  const pk = primaryKey?.();
  return pk === undefined ? { entity: sc.entity, column: sc.path } : { entity: sc.entity, column: sc.path, primaryKey: pk };
}
