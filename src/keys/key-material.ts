import { randomBytes } from '@noble/ciphers/utils.js';
import { SealedError } from '../errors';
import { deriveKeyId } from './derive';

/** A master key is exactly this many random bytes (256 bits). */
export const KEY_BYTES = 32;

const KEY_SHAPE =
  'a key must be 32 random bytes written as base64 or base64url (44 characters with padding, 43 without), ' +
  'e.g. from `npx typeorm-sealed generate-key` or `openssl rand -base64 32`';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * Decodes a base64 or base64url key and checks that it is exactly 32 bytes.
 * The error names what is wrong (length, alphabet) and never echoes the input.
 *
 * @example
 * ```ts
 * const bytes = parseKey(process.env.MY_KEY!); // Uint8Array(32)
 * ```
 */
export function parseKey(text: string, label = 'key'): Uint8Array {
  if (typeof text !== 'string') {
    throw new SealedError('SEALED_INVALID_KEY', `${label} must be a string, got ${typeof text}; ${KEY_SHAPE}`);
  }
  const trimmed = text.trim();
  if (trimmed.length === 0) throw new SealedError('SEALED_INVALID_KEY', `${label} is empty; ${KEY_SHAPE}`);
  if (!BASE64.test(trimmed) && !BASE64URL.test(trimmed)) {
    throw new SealedError('SEALED_INVALID_KEY', `${label} has characters outside base64/base64url; ${KEY_SHAPE}`);
  }
  const bytes = Buffer.from(trimmed.replace(/=+$/, ''), trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
  if (bytes.length !== KEY_BYTES) {
    const got = bytes.length;
    bytes.fill(0);
    throw new SealedError('SEALED_INVALID_KEY', `${label} decodes to ${got} bytes, not ${KEY_BYTES}; ${KEY_SHAPE}`);
  }
  const key = new Uint8Array(bytes);
  bytes.fill(0);
  return key;
}

/**
 * Generates a new 256-bit master key from the platform CSPRNG, written as standard base64.
 * Store it in your secret manager at once: data sealed under a lost key cannot be recovered.
 *
 * @example
 * ```ts
 * const key = generateKey();      // 'q3J0...=' (44 characters)
 * const id = keyIdOf(key);        // '9f3a0c1d'
 * ```
 */
export function generateKey(): string {
  const bytes = randomBytes(KEY_BYTES);
  const text = Buffer.from(bytes).toString('base64');
  bytes.fill(0);
  return text;
}

/**
 * The key id (fingerprint) of a base64/base64url key: 8 lowercase hex characters. Envelopes carry
 * it in clear text, so `SELECT ... WHERE col LIKE 'sealed:1:x:<id>:%'` counts rows per key.
 *
 * @example
 * ```ts
 * keyIdOf(process.env.OLD_KEY!); // '3fa9c1e2'
 * ```
 */
export function keyIdOf(key: string): string {
  const bytes = parseKey(key);
  try {
    return deriveKeyId(bytes);
  } finally {
    bytes.fill(0);
  }
}
