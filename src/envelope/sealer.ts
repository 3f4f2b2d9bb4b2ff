import { randomBytes } from '@noble/ciphers/utils.js';
import { SealedError } from '../errors';
import { subkeyOf, type KeySource } from '../keys/key-source';
import { defaultAead, type Aead } from './aead';
import { envelopeHeader, NONCE_BYTES, parseEnvelope } from './format';

const textEncoder = new TextEncoder();

/**
 * What a value is bound to: its table and column. A ciphertext moved to another table or column
 * fails authentication. Encoded once per column as `utf8(table) || 0x00 || utf8(column)`.
 */
export function bindingBytes(table: string, column: string): Uint8Array {
  return textEncoder.encode(`${table}\u0000${column}`);
}

/**
 * What a value of a scoped column is bound to: its table and column, and its row's scope:
 * `binding || 0x00 || utf8(scope)`. Table and column names hold no NUL, so no scoped binding equals
 * an unscoped one, and a value copied into a row of another scope fails authentication.
 */
export function scopedBinding(binding: Uint8Array, scope: string): Uint8Array {
  const scopeBytes = textEncoder.encode(scope);
  const out = new Uint8Array(binding.length + 1 + scopeBytes.length);
  out.set(binding, 0);
  out.set(scopeBytes, binding.length + 1);
  return out;
}

/**
 * What a value of a row-bound column is bound to: its binding (scoped or not), then `0x01` and each
 * primary key value's text, length-prefixed: `binding || 0x01 || (u32be(n) || utf8(text))...`.
 * No binding ends in a `0x01` byte (table, column and scope hold no control characters), so a
 * row-bound binding equals no other.
 */
export function rowBinding(binding: Uint8Array, keyTexts: readonly string[]): Uint8Array {
  const parts = keyTexts.map((text) => textEncoder.encode(text));
  const out = new Uint8Array(binding.length + 1 + parts.reduce((n, p) => n + 4 + p.length, 0));
  out.set(binding, 0);
  out[binding.length] = 1;
  let at = binding.length + 1;
  for (const part of parts) {
    out[at] = part.length >>> 24;
    out[at + 1] = (part.length >>> 16) & 0xff;
    out[at + 2] = (part.length >>> 8) & 0xff;
    out[at + 3] = part.length & 0xff;
    out.set(part, at + 4);
    at += 4 + part.length;
  }
  return out;
}

/**
 * Seals and opens envelopes with a {@link KeyRing}: the active key seals, any key in the ring opens.
 * AAD = `utf8(header) || binding`, header being `sealed:1:x:<key id>:`.
 */
export class Sealer {
  private header = { keyId: '', text: '' };

  constructor(
    readonly keys: KeySource,
    /** The XChaCha20-Poly1305 backend. Default: native where available (byte-identical), else noble. */
    private readonly aead: Aead = defaultAead,
  ) {}

  /** `sealed:1:x:<active key id>:`: every value sealed now starts with it. Follows the source's active key (a key vault's changes when it loads). */
  get activeHeader(): string {
    const keyId = this.keys.activeKeyId;
    if (this.header.keyId !== keyId) this.header = { keyId, text: envelopeHeader(keyId) };
    return this.header.text;
  }

  /**
   * Encrypts `plaintext` under the active key (or the key `keyId`, which the source must hold) with
   * a fresh random 24-byte nonce. `oneOff`: the binding serves this value only (a row's), so its
   * AAD is not cached.
   */
  seal(plaintext: Uint8Array, binding: Uint8Array, keyId?: string, oneOff = false): string {
    const nonce = nextNonce();
    const header = keyId === undefined ? this.activeHeader : envelopeHeader(keyId);
    keyId ??= this.header.keyId;
    // Subkeys stay in the ring's private store; no object of this library holds key bytes in a property.
    const key = subkeyOf(this.keys, keyId, 'encrypt')!;
    const sealed = this.aead.seal(key, nonce, this.aad(keyId, binding, oneOff), plaintext);
    const body = Buffer.allocUnsafe(NONCE_BYTES + sealed.length);
    body.set(nonce, 0);
    body.set(sealed, NONCE_BYTES);
    return header + body.toString('base64url');
  }

  /** AAD per binding and key id, computed once: `utf8(header) || binding` (the header is fixed by the key id). */
  private readonly aads = new WeakMap<Uint8Array, Map<string, Uint8Array>>();

  /** `utf8(header)` per key id. */
  private readonly headers = new Map<string, Uint8Array>();

  private aad(keyId: string, binding: Uint8Array, oneOff: boolean): Uint8Array {
    // a row's binding serves one value: caching its AAD would only fill the cache
    if (oneOff) return this.joinAad(keyId, binding);
    let byKey = this.aads.get(binding);
    if (!byKey) this.aads.set(binding, (byKey = new Map()));
    let aad = byKey.get(keyId);
    if (!aad) byKey.set(keyId, (aad = this.joinAad(keyId, binding)));
    return aad;
  }

  /** `utf8(header) || binding`. */
  private joinAad(keyId: string, binding: Uint8Array): Uint8Array {
    let headerBytes = this.headers.get(keyId);
    if (!headerBytes) this.headers.set(keyId, (headerBytes = textEncoder.encode(envelopeHeader(keyId))));
    const aad = new Uint8Array(headerBytes.length + binding.length);
    aad.set(headerBytes, 0);
    aad.set(binding, headerBytes.length);
    return aad;
  }

  /**
   * Opens an envelope. Throws `SEALED_MALFORMED` (bad shape), `SEALED_WRONG_KEY` (key id not in
   * the ring), `SEALED_SHREDDED` (its key was destroyed on purpose) or `SEALED_TAMPERED` (authentication failed); the caller adds entity and column.
   */
  open(envelope: string, binding: Uint8Array, oneOff = false): Uint8Array {
    const { keyId, body } = parseEnvelope(envelope);
    const key = subkeyOf(this.keys, keyId, 'encrypt');
    if (!key && this.keys.shreddedKeyIds?.includes(keyId)) {
      throw new SealedError('SEALED_SHREDDED', `value was sealed under data key ${keyId}, which was shredded (destroyed on purpose): it cannot be read`, {
        keyId,
      });
    }
    if (!key) {
      throw new SealedError(
        'SEALED_WRONG_KEY',
        `value was sealed under key ${keyId}, which is not in the key ring (ring holds ${this.keys.keyIds.join(', ')}): the key was not supplied, or a different key was supplied in its place`,
        { keyId },
      );
    }
    try {
      return this.aead.open(key, this.aad(keyId, binding, oneOff), body);
    } catch {
      throw new SealedError('SEALED_TAMPERED', 'authentication failed: the value was altered or truncated, or was copied from another table or column', {
        keyId,
      });
    }
  }
}

const NONCE_POOL_BYTES = NONCE_BYTES * 256;
let noncePool = new Uint8Array(0);
let nonceOffset = 0;

/**
 * A fresh nonce from the CSPRNG. Random bytes are drawn 6 KiB at a time (one system call instead
 * of one per value) and every byte is handed out once.
 */
function nextNonce(): Uint8Array {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    nonceOffset = 0;
  }
  const nonce = noncePool.slice(nonceOffset, nonceOffset + NONCE_BYTES);
  noncePool.fill(0, nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
  return nonce;
}
