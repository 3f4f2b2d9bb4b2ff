import { randomBytes } from '@noble/ciphers/utils.js';
import { defaultAead } from '../envelope/aead';
import { SealedError } from '../errors';
import { requireKeyRing, type KeyRing } from '../keys/key-ring';
import { subkeyOf } from '../keys/key-source';
import type { DataKeyContext, KeyWrapper } from './key-wrapper';

const PREFIX = 'wrapped:1:x:';
const NONCE_BYTES = 24;
const DATA_KEY_BYTES = 32;
/** `wrapped:1:x:<kek id>:` and base64url of nonce (24) ‖ ciphertext (32) ‖ tag (16): 96 characters. */
const WRAPPED = /^wrapped:1:x:([0-9a-f]{8}):([A-Za-z0-9_-]{96})$/;
const encoder = new TextEncoder();

/**
 * Wraps data keys under master keys held by the application (from the environment, a file, a
 * command, a passphrase): XChaCha20-Poly1305 under the master key's HKDF `wrap` subkey, binding the
 * data key's id and scope (FORMAT.md, "Wrapped data keys"). The ring's active master key wraps;
 * every master key in it unwraps, so rotating the master key is: make the new one active, keep the
 * old one, run `rewrap`, then drop the old one. `wrappedBy` is `local:<master key id>`.
 *
 * @example
 * ```ts
 * const vault = new KeyVault({ wrapper: localKeyWrapper(KeyRing.fromEnv('TYPEORM_SEALED_MASTER_KEYS')) });
 * ```
 */
export function localKeyWrapper(masterKeys: KeyRing): KeyWrapper {
  const ring = requireKeyRing(masterKeys, 'localKeyWrapper');
  return Object.freeze({
    wrappedBy: `local:${ring.activeKeyId}`,
    canUnwrap: (wrappedBy: string) => wrappedBy.startsWith('local:') && ring.has(wrappedBy.slice('local:'.length)),
    async wrap(dataKey: Uint8Array, context: DataKeyContext): Promise<string> {
      const header = `${PREFIX}${ring.activeKeyId}:`;
      const nonce = randomBytes(NONCE_BYTES);
      const sealed = defaultAead.seal(subkeyOf(ring, ring.activeKeyId, 'wrap')!, nonce, aad(header, context), dataKey);
      return header + Buffer.concat([nonce, sealed]).toString('base64url');
    },
    async unwrap(wrapped: string, context: DataKeyContext): Promise<Uint8Array> {
      const match = typeof wrapped === 'string' ? WRAPPED.exec(wrapped) : null;
      // 72 bytes are exactly 96 base64url characters: no padding, no spare bits, one spelling
      if (!match) {
        throw new SealedError(
          'SEALED_KEY_STORE',
          `data key ${context.keyId}: its wrapped form is not a local wrapping (wrapped:1:x:<master key id>:<96 base64url characters>)`,
          {
            keyId: context.keyId,
          },
        );
      }
      const kekId = match[1]!;
      const kek = subkeyOf(ring, kekId, 'wrap');
      if (!kek) {
        throw new SealedError(
          'SEALED_WRONG_KEY',
          `data key ${context.keyId} is wrapped by master key ${kekId}, which is not in the master key ring (ring holds ${ring.keyIds.join(', ')})`,
          { keyId: kekId },
        );
      }
      try {
        const key = defaultAead.open(kek, aad(`${PREFIX}${kekId}:`, context), Buffer.from(match[2]!, 'base64url'));
        if (key.length === DATA_KEY_BYTES) return key;
      } catch {
        // fall through: one message for every failure
      }
      throw new SealedError(
        'SEALED_TAMPERED',
        `data key ${context.keyId}: unwrapping failed: the wrapped key was altered, or was copied from another key id or scope`,
        { keyId: context.keyId },
      );
    },
  });
}

/** `utf8(header) ‖ utf8(data key id) ‖ 0x00 ‖ utf8(scope)`. */
function aad(header: string, context: DataKeyContext): Uint8Array {
  return encoder.encode(`${header}${context.keyId}\u0000${context.scope}`);
}
