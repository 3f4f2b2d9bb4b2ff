import { randomBytes } from 'node:crypto';
import { nativeAead } from '../src/envelope/aead';
import { time } from './measure';

/** Field sizes of the benchmark rows (name, email, notes), as encoded plaintext (tag byte + text). */
const FIELD_BYTES = [21, 41, 201];
const AAD = Buffer.from('sealed:1:x:abcdef01:bench_sealed\u0000notes');

/**
 * The AEAD floor: milliseconds that `rows` x 3 native XChaCha20-Poly1305 operations alone take
 * (seal for inserts, open for loads), on the benchmark's field sizes. What no implementation of
 * this envelope can go below in JavaScript on Node; the rest of a sealed path's time beyond plain
 * TypeORM is the library's own.
 */
export async function aeadFloorMs(rows: number, operation: 'seal' | 'open'): Promise<number> {
  const key = randomBytes(32);
  const fields = FIELD_BYTES.map((bytes) => {
    const nonce = randomBytes(24);
    const plaintext = randomBytes(bytes);
    return { nonce, plaintext, body: Buffer.concat([nonce, nativeAead.seal(key, nonce, AAD, plaintext)]) };
  });
  return time(() => {
    for (let i = 0; i < rows; i++) {
      for (const f of fields) {
        if (operation === 'seal') nativeAead.seal(key, f.nonce, AAD, f.plaintext);
        else nativeAead.open(key, AAD, f.body);
      }
    }
  });
}
