import { createCipheriv, createDecipheriv, getCiphers } from 'node:crypto';
import { hchacha, xchacha20poly1305 } from '@noble/ciphers/chacha.js';

/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) with a 32-byte key, a 24-byte nonce and a 16-byte
 * tag appended to the ciphertext. Two backends give the same bytes: `noble` (@noble/ciphers, pure
 * JavaScript) and `native` (HChaCha20 from @noble/ciphers, then Node's built-in OpenSSL
 * ChaCha20-Poly1305 with the nonce `0x00000000 || nonce[16..24]`).
 */
export interface Aead {
  readonly name: 'noble' | 'native';
  /** `ciphertext || tag`. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** The plaintext of `body = nonce (24) || ciphertext || tag (16)`; throws when authentication fails. */
  open(key: Uint8Array, aad: Uint8Array, body: Uint8Array): Uint8Array;
}

const NONCE_BYTES = 24;
const TAG_BYTES = 16;

/** @noble/ciphers' XChaCha20-Poly1305. */
export const nobleAead: Aead = {
  name: 'noble',
  seal: (key, nonce, aad, plaintext) => xchacha20poly1305(key, nonce, aad).encrypt(plaintext),
  open: (key, aad, body) => xchacha20poly1305(key, body.subarray(0, NONCE_BYTES), aad).decrypt(body.subarray(NONCE_BYTES)),
};

/** "expand 32-byte k" as little-endian words. */
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Scratch words for HChaCha20 (with byte views, made once); every call overwrites them and wipes the key words after use. */
const keyWords = new Uint32Array(8);
const keyBytes = new Uint8Array(keyWords.buffer);
const nonceWords = new Uint32Array(4);
const nonceBytes = new Uint8Array(nonceWords.buffer);
const subkeyWords = new Uint32Array(8);
const subkey = Buffer.from(subkeyWords.buffer);
const nonce12 = Buffer.alloc(12);

/** Sets `subkey` to HChaCha20(key, nonce[0..16]) and `nonce12` to 0^4 || nonce[16..24] (`nonce` may be a longer body), allocating nothing. */
function derive(key: Uint8Array, nonce: Uint8Array): void {
  keyBytes.set(key);
  for (let i = 0; i < 16; i++) nonceBytes[i] = nonce[i]!;
  hchacha(SIGMA, keyWords, nonceWords, subkeyWords);
  keyWords.fill(0);
  for (let i = 0; i < 8; i++) nonce12[4 + i] = nonce[16 + i]!;
}

/** HChaCha20 from @noble/ciphers, then Node's `chacha20-poly1305` (OpenSSL). Little-endian hosts only. */
export const nativeAead: Aead = {
  name: 'native',
  seal(key, nonce, aad, plaintext) {
    derive(key, nonce);
    try {
      const cipher = createCipheriv('chacha20-poly1305', subkey, nonce12, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad, { plaintextLength: plaintext.length });
      const body = cipher.update(plaintext);
      cipher.final();
      const out = new Uint8Array(body.length + TAG_BYTES);
      out.set(body, 0);
      out.set(cipher.getAuthTag(), body.length);
      return out;
    } finally {
      subkeyWords.fill(0);
    }
  },
  open(key, aad, body) {
    if (body.length < NONCE_BYTES + TAG_BYTES) throw new Error('body shorter than nonce and tag');
    derive(key, body);
    try {
      const decipher = createDecipheriv('chacha20-poly1305', subkey, nonce12, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      decipher.setAAD(aad, { plaintextLength: body.length - NONCE_BYTES - TAG_BYTES });
      const plaintext = decipher.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES));
      decipher.final(); // throws when the tag does not match
      return plaintext;
    } finally {
      subkeyWords.fill(0);
    }
  },
};

/**
 * The backend used by default, chosen once at load: `native` where Node's crypto has
 * `chacha20-poly1305` and the host is little-endian (the word layout HChaCha20 is fed here),
 * `noble` otherwise. `TYPEORM_SEALED_AEAD=noble` (or `native`) forces one, for tests and
 * comparisons; an unavailable `native` falls back to `noble`.
 */
export const defaultAead: Aead = chooseAead(process.env.TYPEORM_SEALED_AEAD);

function chooseAead(forced: string | undefined): Aead {
  const nativeWorks = LITTLE_ENDIAN && getCiphers().includes('chacha20-poly1305');
  if (forced === 'noble' || !nativeWorks) return nobleAead;
  return nativeAead;
}
