import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { SealedError } from '../errors';
import { subkeyOf, type KeySource } from '../keys/key-source';

/** How an index value is computed: bits kept, and scrypt's log2(N) for a slow index. */
export interface IndexConstruction {
  readonly bits: number;
  readonly slowLogN: number | undefined;
}

type Hmac = ReturnType<typeof hmac.create>;

interface ColumnKey {
  key: Uint8Array;
  /** HMAC-SHA256 keyed with `key` (its inner and outer states), copied into `scratch` for each value. */
  mac: Hmac;
  /** The HMAC each value is hashed with, and its digest: reused, as computing is synchronous (half the time of a fresh clone). */
  scratch: Hmac;
  digest: Uint8Array;
}

/**
 * Column keys per key source, per binding (one per encrypted column), per index key id. Kept in
 * this module, off every object, so no inspection or enumeration reaches them.
 */
const columnKeys = new WeakMap<KeySource, WeakMap<Uint8Array, Map<string, ColumnKey>>>();

const COLUMN_INFO = utf8ToBytes('typeorm-sealed/v1/blind-index-column\u0000');
const INDEX_VALUE = /^([0-9a-f]{8}):[0-9a-f]+$/;

/** Characters of an index value's key id prefix, `<index key id>:`. */
export const INDEX_PREFIX_LENGTH = 9;
const INDEX_PREFIX = /^([0-9a-f]{8}):$/;

/** The index key id an index value's prefix (its first {@link INDEX_PREFIX_LENGTH} characters) names; undefined when it is none. */
export function keyIdOfIndexPrefix(prefix: string): string | undefined {
  return INDEX_PREFIX.exec(prefix)?.[1];
}

/**
 * Whether a value has the form of a blind index value, `<index key id>:<hex>`, under any key.
 *
 * @example
 * ```ts
 * looksLikeIndexValue('9f3a0c1d:5e8f03a2'); // true
 * ```
 */
export function looksLikeIndexValue(value: unknown): value is string {
  return typeof value === 'string' && INDEX_VALUE.test(value);
}

/**
 * Blind index values (FORMAT.md, "Blind indexes"): `<index key id>:<hex>`, the hex being the first
 * `bits / 4` digits of HMAC-SHA256(column key, plaintext), or of scrypt(plaintext, salt = column
 * key, N = 2^logN, r = 8, p = 1, 32 bytes) for a slow index. The column key is
 * HKDF-SHA256(ikm = the index key's `blind-index` subkey, info = "typeorm-sealed/v1/blind-index-column"
 * || 0x00 || table || 0x00 || column, 32 bytes), so equal values in two columns share no index
 * value, and no index value depends on an encryption key.
 */
export class IndexHasher {
  constructor(readonly keys: KeySource) {}

  /** The index value of an encoded plaintext under `keyId` (default: the active index key). */
  compute(binding: Uint8Array, construction: IndexConstruction, plaintext: Uint8Array, keyId: string = this.keys.activeKeyId): string {
    const column = this.columnKey(binding, keyId);
    let digest: Uint8Array;
    if (construction.slowLogN === undefined) {
      column.mac
        ._cloneInto(column.scratch as never)
        .update(plaintext)
        .digestInto(column.digest);
      digest = column.digest;
    } else {
      digest = scrypt(plaintext, column.key, { N: 2 ** construction.slowLogN, r: 8, p: 1, dkLen: 32 });
    }
    return `${keyId}:${bytesToHex(digest.subarray(0, Math.ceil(construction.bits / 8))).slice(0, construction.bits / 4)}`;
  }

  /** The index key id an index value was computed under; undefined when it is not an index value. */
  keyIdOf(stored: unknown): string | undefined {
    return typeof stored === 'string' ? INDEX_VALUE.exec(stored)?.[1] : undefined;
  }

  private columnKey(binding: Uint8Array, keyId: string): ColumnKey {
    let byBinding = columnKeys.get(this.keys);
    if (!byBinding) columnKeys.set(this.keys, (byBinding = new WeakMap()));
    let byKey = byBinding.get(binding);
    if (!byKey) byBinding.set(binding, (byKey = new Map()));
    const known = byKey.get(keyId);
    if (known) return known;
    const root = subkeyOf(this.keys, keyId, 'blind-index');
    if (!root) throw new SealedError('SEALED_WRONG_KEY', 'the index key ring does not hold this index key', { keyId });
    const info = new Uint8Array(COLUMN_INFO.length + binding.length);
    info.set(COLUMN_INFO);
    info.set(binding, COLUMN_INFO.length);
    const key = hkdf(sha256, root, undefined, info, 32);
    const mac: Hmac = hmac.create(sha256, key);
    const column: ColumnKey = { key, mac, scratch: mac.clone() as Hmac, digest: new Uint8Array(32) };
    byKey.set(keyId, column);
    return column;
  }
}
