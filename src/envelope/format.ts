import { SealedError } from '../errors';

/**
 * The stored string (FORMAT.md): `sealed:1:x:<key id>:<base64url(nonce || ciphertext || tag)>`.
 * - `sealed:` fixed prefix; `1` format version; `x` XChaCha20-Poly1305;
 * - key id: 8 lowercase hex characters (no LIKE wildcards), the key's fingerprint;
 * - body: 24-byte random nonce, ciphertext of `type tag || value`, 16-byte Poly1305 tag.
 */
export const ENVELOPE_PREFIX = 'sealed:';
export const FORMAT_VERSION = '1';
export const ALGORITHM_XCHACHA20POLY1305 = 'x';
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
/** Nonce, tag and the one-byte type tag: the smallest body. */
export const MIN_BODY_BYTES = NONCE_BYTES + TAG_BYTES + 1;

const KEY_ID = /^[0-9a-f]{8}$/;
const BASE64URL_BODY = /^[A-Za-z0-9_-]+$/;

/** `sealed:1:x:<keyId>:`, the part of the envelope before the body (also the start of the AAD). */
export function envelopeHeader(keyId: string): string {
  return `${ENVELOPE_PREFIX}${FORMAT_VERSION}:${ALGORITHM_XCHACHA20POLY1305}:${keyId}:`;
}

/** Whether a stored value claims to be an envelope (starts with `sealed:`); plaintext otherwise. */
export function looksSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(ENVELOPE_PREFIX);
}

/** An envelope split into its parts. */
export interface ParsedEnvelope {
  keyId: string;
  /** nonce || ciphertext || tag */
  body: Uint8Array;
}

/** Characters in a header: `sealed:1:x:` + 8 + `:`. */
export const HEADER_LENGTH = 20;
const HEADER = /^sealed:1:x:([0-9a-f]{8}):$/;

/** The key id a header (the first {@link HEADER_LENGTH} characters of a value) names; undefined when it is no valid header. */
export function keyIdOfHeader(header: string): string | undefined {
  return HEADER.exec(header)?.[1];
}

/** Splits and checks an envelope string; throws `SEALED_MALFORMED` naming the part that is wrong. */
export function parseEnvelope(text: string): ParsedEnvelope {
  // The common case by fixed offsets, allocating only the key id and the body; anything unusual
  // goes through the diagnosing parser below.
  if (text.length > HEADER_LENGTH && text.startsWith(V1_PREFIX) && text.charCodeAt(HEADER_LENGTH - 1) === COLON && isKeyIdAt(text, V1_PREFIX.length)) {
    const body = text.substring(HEADER_LENGTH);
    if (BASE64URL_BODY.test(body) && body.length % 4 !== 1 && hasCanonicalEnd(body)) {
      const bytes = Buffer.from(body, 'base64url');
      if (bytes.length >= MIN_BODY_BYTES) return { keyId: text.substring(V1_PREFIX.length, HEADER_LENGTH - 1), body: bytes };
    }
  }
  return diagnose(text);
}

const V1_PREFIX = `${ENVELOPE_PREFIX}${FORMAT_VERSION}:${ALGORITHM_XCHACHA20POLY1305}:`;
const COLON = 0x3a;

/** Whether `text` has 8 lowercase hex characters at `at`. */
function isKeyIdAt(text: string, at: number): boolean {
  for (let i = at; i < at + 8; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Whether the bits of the last base64url character that encode nothing are zero: otherwise 4
 * (or 16) different bodies decode to the same bytes, and an altered envelope would still open.
 */
function hasCanonicalEnd(body: string): boolean {
  const spare = [0, 0, 0b1111, 0b11][body.length % 4]!;
  return spare === 0 || (BASE64URL_ALPHABET.indexOf(body[body.length - 1]!) & spare) === 0;
}

function diagnose(text: string): ParsedEnvelope {
  const parts = text.split(':');
  if (parts.length !== 5) throw malformed("does not have the five ':'-separated parts sealed:1:x:<key id>:<body>");
  const [, version, algorithm, keyId, body] = parts as [string, string, string, string, string];
  // Fixed messages: a legacy plaintext shaped like an envelope must not be echoed.
  if (version !== FORMAT_VERSION) throw malformed(`has an unknown format version (this library reads ${FORMAT_VERSION})`);
  if (algorithm !== ALGORITHM_XCHACHA20POLY1305) throw malformed('names an unknown algorithm (expected "x", XChaCha20-Poly1305)');
  if (!KEY_ID.test(keyId)) throw malformed('has no valid key id (8 lowercase hex characters)');
  if (!BASE64URL_BODY.test(body) || body.length % 4 === 1) throw malformed('body is not base64url', keyId);
  if (!hasCanonicalEnd(body)) throw malformed('body is not canonical base64url (its last character carries bits that encode nothing: altered?)', keyId);
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.length < MIN_BODY_BYTES) throw malformed(`body is ${bytes.length} bytes, shorter than the ${MIN_BODY_BYTES}-byte minimum (truncated?)`, keyId);
  return { keyId, body: bytes };
}

/**
 * Length in characters of the envelope for a value whose encoded plaintext is `plaintextBytes`
 * long (type tag included). Every character is ASCII, so characters equal bytes.
 */
export function envelopeLength(plaintextBytes: number): number {
  const body = NONCE_BYTES + plaintextBytes + TAG_BYTES;
  return HEADER_LENGTH + Math.floor(body / 3) * 4 + (body % 3 ? (body % 3) + 1 : 0);
}

/**
 * The column length (characters) that holds any sealed value whose encoding is at most
 * `valueBytes` bytes: a string's UTF-8 length (up to 4 bytes per character), 8 for numbers and
 * dates, 1 for booleans, the JSON text's UTF-8 length for objects.
 *
 * @example
 * ```ts
 * @Encrypted({ type: 'varchar', length: sealedLength(64) }) // fits strings of <= 64 UTF-8 bytes
 * email!: string;
 * ```
 */
export function sealedLength(valueBytes: number): number {
  if (!Number.isInteger(valueBytes) || valueBytes < 0) throw new RangeError(`sealedLength: valueBytes must be a non-negative integer, got ${valueBytes}`);
  return envelopeLength(valueBytes + 1);
}

function malformed(what: string, keyId?: string): SealedError {
  return new SealedError('SEALED_MALFORMED', `stored value starts with "${ENVELOPE_PREFIX}" but ${what}`, keyId ? { keyId } : {});
}
