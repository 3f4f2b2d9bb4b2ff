import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/ciphers/utils.js';
import { SealedError } from '../errors';
import { KeyRing, ringSubkey } from '../keys/key-ring';
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
 * Seals and opens envelopes with a {@link KeyRing}: the active key seals, any key in the ring opens.
 * AAD = `utf8(header) || binding`, header being `sealed:1:x:<key id>:`.
 */
export class Sealer {
  /** `sealed:1:x:<active key id>:`: every value sealed now starts with it. */
  readonly activeHeader: string;
  private readonly activeHeaderBytes: Uint8Array;
  private readonly activeKey: Uint8Array;

  constructor(readonly keys: KeyRing) {
    this.activeHeader = envelopeHeader(keys.activeKeyId);
    this.activeHeaderBytes = textEncoder.encode(this.activeHeader);
    this.activeKey = ringSubkey(keys, keys.activeKeyId, 'encrypt')!;
  }

  /** Encrypts `plaintext` under the active key with a fresh random 24-byte nonce. */
  seal(plaintext: Uint8Array, binding: Uint8Array): string {
    const nonce = randomBytes(NONCE_BYTES);
    const sealed = xchacha20poly1305(this.activeKey, nonce, aad(this.activeHeaderBytes, binding)).encrypt(plaintext);
    const body = Buffer.allocUnsafe(NONCE_BYTES + sealed.length);
    body.set(nonce, 0);
    body.set(sealed, NONCE_BYTES);
    return this.activeHeader + body.toString('base64url');
  }

  /**
   * Opens an envelope. Throws `SEALED_MALFORMED` (bad shape), `SEALED_WRONG_KEY` (key id not in
   * the ring) or `SEALED_TAMPERED` (authentication failed); the caller adds entity and column.
   */
  open(envelope: string, binding: Uint8Array): Uint8Array {
    const { keyId, header, body } = parseEnvelope(envelope);
    const key = ringSubkey(this.keys, keyId, 'encrypt');
    if (!key) {
      throw new SealedError(
        'SEALED_WRONG_KEY',
        `value was sealed under key ${keyId}, which is not in the key ring (ring holds ${this.keys.keyIds.join(', ')}): the key was not supplied, or a different key was supplied in its place`,
        { keyId },
      );
    }
    try {
      return xchacha20poly1305(key, body.subarray(0, NONCE_BYTES), aad(textEncoder.encode(header), binding)).decrypt(body.subarray(NONCE_BYTES));
    } catch {
      throw new SealedError(
        'SEALED_TAMPERED',
        'authentication failed: the value was altered or truncated, or was copied from another table or column',
        { keyId },
      );
    }
  }
}

function aad(header: Uint8Array, binding: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.length + binding.length);
  out.set(header, 0);
  out.set(binding, header.length);
  return out;
}
