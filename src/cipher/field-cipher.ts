import { CodecError, decodeValue, encodeValue, typeOfEncoded } from '../codec/codec';
import { parseLegacyValue, toLegacyText } from '../codec/legacy';
import { defaultAead, type Aead } from '../envelope/aead';
import { IndexHasher } from '../envelope/blind-index';
import { HEADER_LENGTH, keyIdOfHeader, looksSealed } from '../envelope/format';
import { rowBinding, scopedBinding, Sealer } from '../envelope/sealer';
import { SealedError, type SealedErrorContext } from '../errors';
import type { KeySource } from '../keys/key-source';
import { SCOPE } from '../keys/scope';
import { keyText } from '../codec/key-text';
import type { SealedColumn } from '../metadata/column-plan';

/**
 * What a call knows about the row its value belongs to. Today it names the row in errors; it is
 * also where a per-row key choice or a row binding will come from.
 */
export interface FieldContext {
  /** The row's primary key for messages (`id=42`), computed only when an error needs it. */
  primaryKey?: () => string | undefined;
  /** The row's value of a scoped column's scope property (`@Encrypted({ scope })`), read when the column is scoped. */
  scope?: () => unknown;
  /** The row's primary key values in the order of the entity's primary columns, read when the column is bound to its row (`bindRow`). */
  row?: () => readonly unknown[] | undefined;
  /** The query runner the value is written or read on: a key vault's scope key it created in its open transaction is its alone. */
  runner?: object;
}

/** Options of {@link FieldCipher}. */
export interface FieldCipherOptions {
  /** Read values that are not envelopes as legacy plaintext instead of failing. Default: `false`. */
  plaintextPassthrough?: boolean;
  /** The XChaCha20-Poly1305 backend. Default: native where available, else noble (same bytes). */
  aead?: Aead;
  /** Keys of blind indexes: the active one computes index values, all are looked up. Default: none (fields with an index refuse writes and lookups). */
  indexKeys?: KeySource;
  /** Read a value whose data key was shredded as NULL instead of failing with `SEALED_SHREDDED`. Default: `false`. */
  shreddedAsNull?: boolean;
}

const NO_CONTEXT: FieldContext = {};

/**
 * The one way from a column and a value to the stored string and back: codec, envelope and keys.
 * One per DataSource (made by `sealedSubscriber`, found by the rotator through the subscriber's
 * brand), or one per rotator given its own keys. Errors name entity, column, row and key id, never
 * the value.
 */
export class FieldCipher {
  private readonly sealer: Sealer;
  private readonly hasher: IndexHasher | undefined;
  /** Read non-envelope values as legacy plaintext instead of failing. */
  readonly plaintextPassthrough: boolean;
  /** Read values under shredded keys as NULL. */
  readonly shreddedAsNull: boolean;
  /** Per scoped column, each scope value met (a row's tenant id) as its checked text: checked once per tenant. */
  private readonly scopeTexts = new WeakMap<SealedColumn, Map<unknown, string>>();
  /** Per scoped column, the binding of each scope: `binding ‖ 0x00 ‖ utf8(scope)`. */
  private readonly scopedBindings = new WeakMap<SealedColumn, Map<string, Uint8Array>>();

  constructor(keys: KeySource, options: FieldCipherOptions = {}) {
    this.sealer = new Sealer(keys, options.aead ?? defaultAead);
    this.plaintextPassthrough = options.plaintextPassthrough ?? false;
    this.shreddedAsNull = options.shreddedAsNull ?? false;
    this.hasher = options.indexKeys && new IndexHasher(options.indexKeys);
  }

  /** The key ring of blind indexes, if one was given. */
  get indexKeys(): KeySource | undefined {
    return this.hasher?.keys;
  }

  /** The key ring this cipher seals and opens with. */
  get keys(): KeySource {
    return this.sealer.keys;
  }

  /** Encodes and seals a non-null value under the active key; checks it fits the column. */
  seal(sc: SealedColumn, value: unknown, ctx: FieldContext = NO_CONTEXT): string {
    if (typeof value === 'function') {
      throw new SealedError('SEALED_UNSUPPORTED_VALUE', 'a raw SQL function cannot be encrypted: pass the value itself', where(sc, ctx));
    }
    let plaintext: Uint8Array;
    try {
      plaintext = encodeValue(value, sc.valueType);
    } catch (e) {
      if (e instanceof CodecError) throw new SealedError('SEALED_UNSUPPORTED_VALUE', e.message, where(sc, ctx));
      throw e;
    }
    let envelope: string;
    if (sc.scope) {
      const scope = this.scopeOf(sc, ctx);
      const keyId = this.keys.activeKeyIdOf!(scope, ctx.runner);
      if (keyId === undefined) {
        throw new SealedError(
          'SEALED_CONFIG',
          "no data key of the row's scope is loaded: the key vault prepares one before a write (is this a write path the subscriber does not see?)",
          where(sc, ctx),
        );
      }
      envelope = this.sealer.seal(plaintext, this.bindingFor(sc, ctx, scope), keyId, sc.rowKey !== undefined);
    } else envelope = this.sealer.seal(plaintext, this.bindingFor(sc, ctx), undefined, sc.rowKey !== undefined);
    if (sc.maxLength !== undefined && envelope.length > sc.maxLength) {
      throw new SealedError(
        'SEALED_VALUE_TOO_LONG',
        `the sealed value takes ${envelope.length} characters but the column holds ${sc.maxLength}; widen it (sealedLength(bytes) gives the size) or use type "text"`,
        { ...where(sc, ctx), keyId: this.keyIdOf(envelope)! },
      );
    }
    return envelope;
  }

  /**
   * The scope of the row a scoped column's value belongs to, as text: a non-empty string, or a
   * number or bigint in decimal. `SEALED_CONFIG` when the row does not carry it (a partial write, a
   * select without the scope column), `SEALED_UNSUPPORTED_VALUE` when it is no scope.
   */
  scopeOf(sc: SealedColumn, ctx: FieldContext): string {
    const raw = ctx.scope?.();
    const name = sc.scope!.propertyPath;
    if (raw === undefined || raw === null) {
      throw new SealedError(
        'SEALED_CONFIG',
        `the row's scope (${name}) is not known here: a write that sets a scoped field must set ${name} too, and a read must select ${name}`,
        where(sc, ctx),
      );
    }
    let texts = this.scopeTexts.get(sc);
    if (!texts) this.scopeTexts.set(sc, (texts = new Map()));
    const known = texts.get(raw);
    if (known !== undefined) return known;
    const scope = typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'bigint' ? keyText(raw, sc.scope!) : undefined;
    if (scope === undefined || scope === '' || !SCOPE.test(scope)) {
      throw new SealedError(
        'SEALED_UNSUPPORTED_VALUE',
        `the row's scope (${name}) must be a non-empty string of at most 191 characters without control characters or lone surrogates, or an integer (for an integer column, in canonical decimal), as the database reads it back`,
        where(sc, ctx),
      );
    }
    texts.set(raw, scope);
    return scope;
  }

  /**
   * What a value of the column is bound to (the associated data after the header): the column's
   * binding, with its row's scope for a scoped column ("Key scopes" in FORMAT.md; `scope` when the
   * caller has it already) and its row's primary key for a row-bound one ("Row binding").
   */
  private bindingFor(sc: SealedColumn, ctx: FieldContext, scope = sc.scope ? this.scopeOf(sc, ctx) : undefined): Uint8Array {
    const binding = scope === undefined ? sc.binding : this.bindingOf(sc, scope);
    if (!sc.rowKey) return binding;
    const values = ctx.row?.();
    if (!values || values.length !== sc.rowKey.length || values.some((v) => v === undefined || v === null)) {
      throw new SealedError(
        'SEALED_CONFIG',
        `the row's primary key is not known here: a write of a row-bound field must carry ${sc.rowKey.map((c) => c.propertyPath).join(', ')} (save() does; an update() must set it too), and a raw read must select it`,
        where(sc, ctx),
      );
    }
    return rowBinding(
      binding,
      values.map((value, i) => {
        const text = keyText(value, sc.rowKey![i]!);
        if (text === undefined) {
          throw new SealedError(
            'SEALED_UNSUPPORTED_VALUE',
            `the row's primary key (${sc.rowKey![i]!.propertyPath}) is not a value row binding takes as the database reads it back (a string, an integer in canonical decimal, a Date or bytes)`,
            where(sc, ctx),
          );
        }
        return text;
      }),
    );
  }

  /** The binding of a scoped column for one scope (FORMAT.md, "Key scopes"). */
  private bindingOf(sc: SealedColumn, scope: string): Uint8Array {
    let byScope = this.scopedBindings.get(sc);
    if (!byScope) this.scopedBindings.set(sc, (byScope = new Map()));
    let binding = byScope.get(scope);
    if (!binding) byScope.set(scope, (binding = scopedBinding(sc.binding, scope)));
    return binding;
  }

  /**
   * Opens a stored non-null value. Plaintext fails with `SEALED_PLAINTEXT` unless passthrough is
   * on, in which case it is read as the column's type.
   */
  open(sc: SealedColumn, stored: unknown, ctx: FieldContext = NO_CONTEXT): unknown {
    if (!looksSealed(stored)) {
      if (!this.plaintextPassthrough) {
        throw new SealedError(
          'SEALED_PLAINTEXT',
          'the stored value is not sealed; if the column holds data written before encryption, enable plaintextPassthrough and run encryptExisting',
          where(sc, ctx),
        );
      }
      return this.readLegacy(sc, stored, ctx);
    }
    let plaintext: Uint8Array;
    try {
      plaintext = this.sealer.open(stored, this.bindingFor(sc, ctx), sc.rowKey !== undefined);
    } catch (e) {
      if (e instanceof SealedError && e.code === 'SEALED_SHREDDED' && this.shreddedAsNull) return null;
      if (e instanceof SealedError) throw e.withContext(where(sc, ctx));
      throw e;
    }
    const sealedAs = typeOfEncoded(plaintext);
    if (sealedAs !== sc.valueType) {
      // Authentic, but sealed for another type: a column that shares its binding (boundTo) with
      // another, or a valueType changed after values were written.
      throw new SealedError(
        'SEALED_TYPE_MISMATCH',
        `the value was sealed as ${sealedAs ?? 'an unknown type'} but the column's valueType is ${sc.valueType}`,
        where(sc, ctx),
      );
    }
    try {
      return decodeValue(plaintext);
    } catch (e) {
      // Authenticated but undecodable: only a bug or a foreign writer with our key can cause it.
      if (e instanceof CodecError) throw new SealedError('SEALED_MALFORMED', `the opened value does not decode: ${e.message}`, where(sc, ctx));
      throw e;
    }
  }

  /** Reads a legacy plaintext value as the column's type; `SEALED_PLAINTEXT` when it cannot. */
  readLegacy(sc: SealedColumn, stored: unknown, ctx: FieldContext = NO_CONTEXT): unknown {
    try {
      return parseLegacyValue(stored, sc.valueType);
    } catch (e) {
      if (e instanceof CodecError) throw new SealedError('SEALED_PLAINTEXT', `${e.message} (expected ${sc.valueType})`, where(sc, ctx));
      throw e;
    }
  }

  /** The plaintext text form of a value (FORMAT.md, "Plaintext passthrough"), as `decryptAll` stores it. */
  legacyText(sc: SealedColumn, value: unknown): string {
    return toLegacyText(value, sc.valueType);
  }

  /** Whether two plaintext values of the column are the same value (equal encodings). */
  sameValue(sc: SealedColumn, a: unknown, b: unknown): boolean {
    if (a === b) return true;
    try {
      return Buffer.from(encodeValue(a, sc.valueType)).equals(encodeValue(b, sc.valueType));
    } catch {
      return false;
    }
  }

  /**
   * The blind index value of a plaintext value of an indexed column under the active index key (or
   * `keyId`): normalised, encoded, hashed (FORMAT.md, "Blind indexes").
   */
  index(sc: SealedColumn, value: unknown, ctx: FieldContext = NO_CONTEXT, keyId?: string): string {
    const hasher = this.indexHasher(sc, ctx);
    return hasher.compute(sc.binding, sc.index!, this.indexedBytes(sc, value, ctx), keyId);
  }

  /** The index values a lookup of `value` matches: one per index key (active first), so rows not re-indexed yet are found too. */
  indexValues(sc: SealedColumn, value: unknown, ctx: FieldContext = NO_CONTEXT): string[] {
    const hasher = this.indexHasher(sc, ctx);
    const bytes = this.indexedBytes(sc, value, ctx);
    return hasher.keys.keyIds.map((keyId) => hasher.compute(sc.binding, sc.index!, bytes, keyId));
  }

  /** Whether two plaintext values of an indexed column are equal once normalised (the re-check of a lookup's candidates). */
  sameIndexedValue(sc: SealedColumn, a: unknown, b: unknown): boolean {
    try {
      return Buffer.from(this.indexedBytes(sc, a, NO_CONTEXT)).equals(this.indexedBytes(sc, b, NO_CONTEXT));
    } catch {
      return false;
    }
  }

  /** The index key id of a stored index value; undefined when it is not one. */
  indexKeyIdOf(stored: unknown): string | undefined {
    return this.hasher?.keyIdOf(stored);
  }

  private indexHasher(sc: SealedColumn, ctx: FieldContext): IndexHasher {
    if (!sc.index) throw new SealedError('SEALED_CONFIG', 'the field has no blind index: declare one with @Encrypted({ index: ... })', where(sc, ctx));
    if (!this.hasher) {
      throw new SealedError(
        'SEALED_CONFIG',
        'the field has a blind index but no index keys were given: pass indexKeys (a KeyRing of its own, e.g. KeyRing.fromEnv("TYPEORM_SEALED_INDEX_KEYS")) to sealedSubscriber and KeyRotator',
        where(sc, ctx),
      );
    }
    return this.hasher;
  }

  /** The encoded normalised value an index hashes. */
  private indexedBytes(sc: SealedColumn, value: unknown, ctx: FieldContext): Uint8Array {
    let normalized: unknown = value;
    // a non-string in a string column is refused by the codec below, with its type named
    const normalizes = sc.valueType !== 'string' || typeof value === 'string';
    try {
      if (normalizes) normalized = sc.index!.normalize(value);
    } catch {
      // the function is the application's; its error text is not ours to pass on (it may quote the value)
      throw new SealedError('SEALED_CONFIG', "the index's normalize function threw", where(sc, ctx));
    }
    if (normalizes && sc.valueType === 'string' && typeof normalized !== 'string') {
      throw new SealedError('SEALED_CONFIG', `the index's normalize function returned ${typeof normalized}, not a string`, where(sc, ctx));
    }
    try {
      return encodeValue(normalized, sc.valueType);
    } catch (e) {
      if (e instanceof CodecError) throw new SealedError('SEALED_UNSUPPORTED_VALUE', e.message, where(sc, ctx));
      throw e;
    }
  }

  /** The key id in a stored envelope's header; undefined when it is not an envelope. */
  keyIdOf(stored: unknown): string | undefined {
    return typeof stored === 'string' && stored.length > HEADER_LENGTH ? keyIdOfHeader(stored.substring(0, HEADER_LENGTH)) : undefined;
  }

  /** Whether a stored value claims to be an envelope (starts with `sealed:`); plaintext otherwise. */
  isEnvelope(stored: unknown): stored is string {
    return looksSealed(stored);
  }

  /** Whether a stored value is sealed under the active key (of its row's scope, for a scoped column); plaintext and older keys are not. */
  isCurrent(sc: SealedColumn, stored: unknown, ctx: FieldContext = NO_CONTEXT): boolean {
    if (!sc.scope) return typeof stored === 'string' && stored.startsWith(this.sealer.activeHeader);
    if (typeof stored !== 'string') return false;
    const active = this.keys.activeKeyIdOf!(this.scopeOf(sc, ctx), ctx.runner);
    return active !== undefined && this.keyIdOf(stored) === active;
  }
}

function where(sc: SealedColumn, ctx: FieldContext): SealedErrorContext {
  const pk = ctx.primaryKey?.();
  return pk === undefined ? { entity: sc.entity, column: sc.path } : { entity: sc.entity, column: sc.path, primaryKey: pk };
}
