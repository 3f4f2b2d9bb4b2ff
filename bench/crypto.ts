import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { encodeValue } from '../src/codec/codec';
import { bindingBytes, Sealer } from '../src/envelope/sealer';
import { generateKey, KeyRing } from '../src';
import { median, time } from './measure';

export interface CryptoResult {
  size: string;
  /** Median microseconds per operation. */
  sealUs: number;
  openUs: number;
  nativeSealUs: number;
  nativeOpenUs: number;
}

const SIZES: [string, number][] = [
  ['64 B', 64],
  ['1 KiB', 1024],
  ['16 KiB', 16 * 1024],
];

/**
 * Scenario 4: the envelope (XChaCha20-Poly1305 in JavaScript, base64url text) against Node's
 * native AES-256-GCM (OpenSSL) producing base64 text with a random IV, per operation.
 */
export async function cryptoBenchmarks(reps: number): Promise<CryptoResult[]> {
  const sealer = new Sealer(new KeyRing({ active: generateKey() }));
  const binding = bindingBytes('users', 'notes');
  const key = randomBytes(32);
  const out: CryptoResult[] = [];
  for (const [size, bytes] of SIZES) {
    const plaintext = encodeValue('x'.repeat(bytes - 1), 'string');
    const ops = Math.max(200, Math.floor(2_000_000 / bytes));
    const envelope = sealer.seal(plaintext, binding);
    const native = nativeSeal(key, plaintext);
    const s = { seal: [] as number[], open: [] as number[], nseal: [] as number[], nopen: [] as number[] };
    for (let rep = 0; rep < reps; rep++) {
      s.seal.push(
        await time(() => {
          for (let i = 0; i < ops; i++) sealer.seal(plaintext, binding);
        }),
      );
      s.open.push(
        await time(() => {
          for (let i = 0; i < ops; i++) sealer.open(envelope, binding);
        }),
      );
      s.nseal.push(
        await time(() => {
          for (let i = 0; i < ops; i++) nativeSeal(key, plaintext);
        }),
      );
      s.nopen.push(
        await time(() => {
          for (let i = 0; i < ops; i++) nativeOpen(key, native);
        }),
      );
    }
    const us = (ms: number[]) => (median(ms) * 1000) / ops;
    out.push({ size, sealUs: us(s.seal), openUs: us(s.open), nativeSealUs: us(s.nseal), nativeOpenUs: us(s.nopen) });
  }
  return out;
}

function nativeSeal(key: Buffer, plaintext: Uint8Array): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function nativeOpen(key: Buffer, text: string): Buffer {
  const data = Buffer.from(text, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
  decipher.setAuthTag(data.subarray(12, 28));
  return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]);
}
