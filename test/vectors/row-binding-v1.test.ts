// Checks the published row-bound envelope vectors: opened from FORMAT.md with noble primitives
// directly, and through the library's binding functions; another row's key does not open them.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeValue } from '../../src/codec/codec';
import { bindingBytes, rowBinding, scopedBinding, Sealer } from '../../src/envelope/sealer';
import { KeyRing } from '../../src/keys/key-ring';
import vectors from '../../vectors/row-binding-v1.json';

const utf8 = (s: string) => new TextEncoder().encode(s);
type Vector = (typeof vectors.vectors)[number] & { scope?: string };
const all = vectors.vectors as Vector[];

/** FORMAT.md, "Row binding", byte by byte. */
function independentAad(v: Vector): Uint8Array {
  const bytes = [...utf8(v.envelope.slice(0, 20)), ...utf8(v.table), 0, ...utf8(v.column), ...(v.scope === undefined ? [] : [0, ...utf8(v.scope)]), 1];
  for (const text of v.primaryKey) {
    const t = utf8(text);
    bytes.push(t.length >>> 24, (t.length >>> 16) & 255, (t.length >>> 8) & 255, t.length & 255, ...t);
  }
  return Uint8Array.from(bytes);
}

const libraryBinding = (v: Vector, primaryKey: readonly string[] = v.primaryKey) => {
  const base = bindingBytes(v.table, v.column);
  return rowBinding(v.scope === undefined ? base : scopedBinding(base, v.scope), primaryKey);
};

describe('row binding v1 test vectors', () => {
  const sealer = new Sealer(new KeyRing({ active: vectors.key }));

  it.each(all.map((v) => [v.name, v] as const))('%s: opens with the AAD of FORMAT.md', (_name, v) => {
    const aad = independentAad(v);
    expect(Buffer.from(aad).toString('hex')).toBe(v.aadHex);
    const key = Uint8Array.from(Buffer.from(vectors.key, 'base64'));
    const body = Buffer.from(v.envelope.split(':')[4]!, 'base64url');
    const encrypt = hkdf(sha256, key, undefined, utf8('typeorm-sealed/v1/encrypt'), 32);
    expect(Buffer.from(xchacha20poly1305(encrypt, body.subarray(0, 24), aad).decrypt(body.subarray(24))).toString('utf8')).toBe(`s${v.value}`);
  });

  it.each(all.map((v) => [v.name, v] as const))('%s: opens through the library, and not in another row', (_name, v) => {
    expect(Buffer.from([...utf8(v.envelope.slice(0, 20)), ...libraryBinding(v)]).toString('hex')).toBe(v.aadHex);
    expect(decodeValue(sealer.open(v.envelope, libraryBinding(v)))).toBe(v.value);
    expect(() => sealer.open(v.envelope, libraryBinding(v, [...v.primaryKey.slice(0, -1), `${v.primaryKey.at(-1)}x`]))).toThrow(
      expect.objectContaining({ code: 'SEALED_TAMPERED' }),
    );
  });

  it('the composite key vector does not open under the other row named in the file', () => {
    const v = all.find((x) => x.name === vectors.otherRow.vector)!;
    expect(() => sealer.open(v.envelope, libraryBinding(v, vectors.otherRow.primaryKey))).toThrow(expect.objectContaining({ code: vectors.otherRow.error }));
  });
});
