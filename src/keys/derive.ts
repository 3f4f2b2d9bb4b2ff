import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * What a subkey is for. Each purpose gets its own HKDF-SHA256 output from the master key, so one
 * master key serves encryption, blind indexes and wrapping data keys without reusing key material.
 */
export type KeyPurpose = 'encrypt' | 'blind-index' | 'wrap';

const INFO_PREFIX = 'typeorm-sealed/v1/';

/** HKDF-SHA256(ikm = master key, salt = none, info = `typeorm-sealed/v1/<purpose>`, 32 bytes). */
export function deriveSubkey(masterKey: Uint8Array, purpose: KeyPurpose): Uint8Array {
  return hkdf(sha256, masterKey, undefined, utf8ToBytes(INFO_PREFIX + purpose), 32);
}

/**
 * The key id: 8 lowercase hex characters, HKDF-SHA256(master, info `typeorm-sealed/v1/key-id`, 4 bytes).
 * It is a fingerprint, so the id of a key never changes and a wrong key never carries a right id.
 */
export function deriveKeyId(masterKey: Uint8Array): string {
  return bytesToHex(hkdf(sha256, masterKey, undefined, utf8ToBytes(INFO_PREFIX + 'key-id'), 4));
}
