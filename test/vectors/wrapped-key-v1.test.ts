// Checks the published wrapped data key vectors: rewrapped from FORMAT.md with noble primitives
// directly (same nonce, same bytes), unwrapped by the library's local wrapper, refused as the
// vectors say; and the envelope under a data key opens as under any master key.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { decodeValue } from '../../src/codec/codec';
import { bindingBytes, scopedBinding, Sealer } from '../../src/envelope/sealer';
import { KeyRing } from '../../src/keys/key-ring';
import { localKeyWrapper } from '../../src/vault/local-key-wrapper';
import vectors from '../../vectors/wrapped-key-v1.json';

const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (base64: string) => Uint8Array.from(Buffer.from(base64, 'base64'));
const keyId = (key: Uint8Array) => hex(hkdf(sha256, key, undefined, utf8('typeorm-sealed/v1/key-id'), 4));

/** FORMAT.md, "Local wrapping", with the vector's nonce. */
function independentWrap(dataKey: Uint8Array, scope: string, nonce: Uint8Array): string {
  const master = bytes(vectors.masterKey);
  const wrapKey = hkdf(sha256, master, undefined, utf8('typeorm-sealed/v1/wrap'), 32);
  const header = `wrapped:1:x:${keyId(master)}:`;
  const sealed = xchacha20poly1305(wrapKey, nonce, utf8(`${header}${keyId(dataKey)}\u0000${scope}`)).encrypt(dataKey);
  return header + Buffer.concat([nonce, sealed]).toString('base64url');
}

describe('wrapped data key v1 test vectors', () => {
  const wrapper = localKeyWrapper(new KeyRing({ active: vectors.masterKey }));

  it('name the master key by its fingerprint', () => {
    expect(keyId(bytes(vectors.masterKey))).toBe(vectors.masterKeyId);
  });

  it.each(vectors.vectors.map((v) => [v.name, v] as const))('%s: wrapped again from FORMAT.md gives the same text', (_name, v) => {
    expect(keyId(bytes(v.dataKey))).toBe(v.dataKeyId);
    expect(independentWrap(bytes(v.dataKey), v.scope, Buffer.from(v.nonceHex, 'hex'))).toBe(v.wrapped);
  });

  it.each(vectors.vectors.map((v) => [v.name, v] as const))('%s: unwrapped by the library', async (_name, v) => {
    expect(Buffer.from(await wrapper.unwrap(v.wrapped, { keyId: v.dataKeyId, scope: v.scope })).toString('base64')).toBe(v.dataKey);
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))('%s: refused', async (_name, v) => {
    await expect(wrapper.unwrap(v.wrapped, { keyId: v.dataKeyId, scope: v.scope })).rejects.toMatchObject({ code: v.error });
  });

  it('a library wrapping opens with the independent reading of FORMAT.md', async () => {
    const v = vectors.vectors[1]!;
    const wrapped = await wrapper.wrap(bytes(v.dataKey), { keyId: v.dataKeyId, scope: v.scope });
    const body = Buffer.from(wrapped.split(':')[4]!, 'base64url');
    const wrapKey = hkdf(sha256, bytes(vectors.masterKey), undefined, utf8('typeorm-sealed/v1/wrap'), 32);
    const aad = utf8(`wrapped:1:x:${vectors.masterKeyId}:${v.dataKeyId}\u0000${v.scope}`);
    expect(Buffer.from(xchacha20poly1305(wrapKey, body.subarray(0, 24), aad).decrypt(body.subarray(24))).toString('base64')).toBe(v.dataKey);
  });

  it('the envelope of a scoped column opens with the scope in the AAD, from FORMAT.md and through the library, and with no other scope', () => {
    const e = vectors.envelopeUnderScopedDataKey;
    const key = bytes(vectors.vectors[1]!.dataKey);
    const encrypt = hkdf(sha256, key, undefined, utf8('typeorm-sealed/v1/encrypt'), 32);
    const body = Buffer.from(e.envelope.split(':')[4]!, 'base64url');
    const aad = Uint8Array.from([...utf8(e.envelope.slice(0, 20)), ...utf8(e.table), 0, ...utf8(e.column), 0, ...utf8(e.scope)]);
    expect(Buffer.from(xchacha20poly1305(encrypt, body.subarray(0, 24), aad).decrypt(body.subarray(24))).toString('hex')).toBe(
      Buffer.from([0x73, ...utf8(e.value)]).toString('hex'),
    );
    const sealer = new Sealer(new KeyRing({ active: vectors.vectors[1]!.dataKey }));
    expect(decodeValue(sealer.open(e.envelope, scopedBinding(bindingBytes(e.table, e.column), e.scope)))).toBe(e.value);
    expect(() => sealer.open(e.envelope, scopedBinding(bindingBytes(e.table, e.column), 'tenant-43'))).toThrow(expect.objectContaining({ code: 'SEALED_TAMPERED' }));
    expect(() => sealer.open(e.envelope, bindingBytes(e.table, e.column))).toThrow(expect.objectContaining({ code: 'SEALED_TAMPERED' }));
  });

  it('the envelope under a data key opens as under any key', () => {
    const e = vectors.envelopeUnderFirstDataKey;
    const sealer = new Sealer(new KeyRing({ active: vectors.vectors[0]!.dataKey }));
    expect(decodeValue(sealer.open(e.envelope, bindingBytes(e.table, e.column)))).toBe(e.value);
  });
});
