import { scryptAsync } from '@noble/hashes/scrypt.js';
import { randomBytes } from '@noble/ciphers/utils.js';
import { SealedError } from '../errors';

/** Options of {@link keyFromPassphrase}. */
export interface PassphraseKeyOptions {
  /** The random salt, base64, at least 16 bytes, from {@link generateSalt}; stored beside the configuration (it is not secret). Required. */
  salt: string;
  /** scrypt's cost, N = 2^logN (with r = 8, p = 1): 15 to 20. Default: `17` (128 MiB of memory). */
  logN?: number;
}

const MIN_PASSPHRASE = 16;
const SALT_BYTES = 16;

/**
 * Derives a 256-bit key (base64, for a {@link KeyRing}) from a passphrase with scrypt (N = 2^17,
 * r = 8, p = 1, 128 MiB, from `@noble/hashes`), for operators who must type a secret instead of
 * storing a random key: a generated key (`generate-key`) is stronger, since no passphrase a person
 * remembers has 256 bits. The passphrase must have at least 16 characters; it is normalised to
 * Unicode NFC first, so the same passphrase typed on another system gives the same key. The same
 * passphrase and salt always give the same key (and key id); a lost salt loses the key. It takes
 * about a second (README, "Key management"), asynchronously.
 *
 * @example
 * ```ts
 * // once: TYPEORM_SEALED_SALT=$(node -e "console.log(require('typeorm-sealed').generateSalt())")
 * const key = await keyFromPassphrase(process.env.SEALED_PASSPHRASE!, { salt: process.env.TYPEORM_SEALED_SALT! });
 * const keys = new KeyRing({ active: key });
 * ```
 */
export async function keyFromPassphrase(passphrase: string, options: PassphraseKeyOptions): Promise<string> {
  if (typeof passphrase !== 'string' || [...passphrase.normalize('NFC')].length < MIN_PASSPHRASE) {
    throw new SealedError('SEALED_INVALID_KEY', `a passphrase must be a string of at least ${MIN_PASSPHRASE} characters`);
  }
  const salt = typeof options?.salt === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(options.salt) ? Buffer.from(options.salt, 'base64') : undefined;
  if (!salt || salt.length < SALT_BYTES) {
    throw new SealedError('SEALED_INVALID_KEY', `the passphrase salt must be base64 of at least ${SALT_BYTES} random bytes (generateSalt() makes one)`);
  }
  const logN = options.logN ?? 17;
  if (!Number.isInteger(logN) || logN < 15 || logN > 20) throw new SealedError('SEALED_CONFIG', 'keyFromPassphrase: logN must be an integer from 15 to 20');
  const key = await scryptAsync(new TextEncoder().encode(passphrase.normalize('NFC')), salt, {
    N: 2 ** logN,
    r: 8,
    p: 1,
    dkLen: 32,
    maxmem: 2 ** (logN + 10) + 4096,
  });
  const text = Buffer.from(key).toString('base64');
  key.fill(0);
  return text;
}

/**
 * A new random salt for {@link keyFromPassphrase} (16 bytes, base64). Generate it once and keep it
 * with the configuration: it is not secret, but the key cannot be derived again without it.
 *
 * @example
 * ```ts
 * generateSalt(); // 'm3Q1...=='
 * ```
 */
export function generateSalt(): string {
  return Buffer.from(randomBytes(SALT_BYTES)).toString('base64');
}
