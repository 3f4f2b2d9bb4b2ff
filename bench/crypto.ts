import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { encodeValue } from '../src/codec/codec';
import { nobleAead } from '../src/envelope/aead';
import { bindingBytes, Sealer } from '../src/envelope/sealer';
import { generateKey, KeyRing } from '../src';
import { median, time } from './measure';

export interface CryptoResult {
  size: string;
  /** Median microseconds per operation. */
  sealUs: number;
  openUs: number;
  /** The same with the pure-JavaScript (noble) AEAD backend. */
  nobleSealUs: number;
  nobleOpenUs: number;
  nativeSealUs: number;
  nativeOpenUs: number;
}

const SIZES: [string, number][] = [
  ['64 B', 64],
  ['1 KiB', 1024],
  ['16 KiB', 16 * 1024],
];

/**
 * Scenario 4: the envelope (XChaCha20-Poly1305, base64url text), with the default (native) and the
 * noble backend, against Node's native AES-256-GCM (OpenSSL) producing base64 text with a random
 * IV, per operation.
 */
export async function cryptoBenchmarks(reps: number): Promise<CryptoResult[]> {
  const ring = new KeyRing({ active: generateKey() });
  const sealer = new Sealer(ring);
  const noble = new Sealer(ring, nobleAead);
  const binding = bindingBytes('users', 'notes');
  const key = randomBytes(32);
  const out: CryptoResult[] = [];
  for (const [size, bytes] of SIZES) {
    const plaintext = encodeValue('x'.repeat(bytes - 1), 'string');
    const ops = Math.max(200, Math.floor(2_000_000 / bytes));
    const envelope = sealer.seal(plaintext, binding);
    const native = nativeSeal(key, plaintext);
    const operations = {
      seal: () => sealer.seal(plaintext, binding),
      open: () => sealer.open(envelope, binding),
      jsSeal: () => noble.seal(plaintext, binding),
      jsOpen: () => noble.open(envelope, binding),
      nseal: () => nativeSeal(key, plaintext),
      nopen: () => nativeOpen(key, native),
    };
    const s = Object.fromEntries(Object.keys(operations).map((name) => [name, [] as number[]])) as Record<keyof typeof operations, number[]>;
    for (let rep = 0; rep < reps; rep++) {
      for (const [name, operation] of Object.entries(operations) as [keyof typeof operations, () => unknown][]) {
        s[name].push(
          await time(() => {
            for (let i = 0; i < ops; i++) operation();
          }),
        );
      }
    }
    const us = (ms: number[]) => (median(ms) * 1000) / ops;
    out.push({
      size,
      sealUs: us(s.seal),
      openUs: us(s.open),
      nobleSealUs: us(s.jsSeal),
      nobleOpenUs: us(s.jsOpen),
      nativeSealUs: us(s.nseal),
      nativeOpenUs: us(s.nopen),
    });
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
