// Regenerates vectors/envelope-v1.json from the built library (npm run build first).
// Nonces are random, so each run writes different envelopes; every published set stays valid.
const fs = require('node:fs');
const path = require('node:path');
const { KeyRing } = require('../dist/keys/key-ring.js');
const { Sealer, bindingBytes } = require('../dist/envelope/sealer.js');
const { encodeValue } = require('../dist/codec/codec.js');

const key = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='; // bytes 0x00..0x1f: a test key, never a real one
const ring = new KeyRing({ active: key });
const sealer = new Sealer(ring);
const hex = (b) => Buffer.from(b).toString('hex');

const cases = [
  ['string', 'users', 'email', 'string', 'alice@example.com', 'alice@example.com'],
  ['empty string', 'users', 'email', 'string', '', ''],
  ['unicode string', 'users', 'name', 'string', 'Zoë 🔐', 'Zoë 🔐'],
  ['number', 'users', 'score', 'number', 3.25, 3.25],
  ['bigint', 'accounts', 'balance', 'bigint', 12345678901234567890n, '12345678901234567890'],
  ['boolean', 'users', 'verified', 'boolean', false, false],
  ['date', 'users', 'birthday', 'date', new Date('1990-05-17T10:20:30.456Z'), '1990-05-17T10:20:30.456Z'],
  ['json', 'users', 'settings', 'json', { theme: 'dark', tags: ['a'] }, { theme: 'dark', tags: ['a'] }],
  ['bytes', 'files', 'blob', 'bytes', Buffer.from([0, 1, 254, 255]), '0001feff'],
];

const vectors = cases.map(([name, table, column, valueType, value, json]) => {
  const plaintext = encodeValue(value, valueType);
  return {
    name,
    table,
    column,
    valueType,
    value: json,
    plaintextHex: hex(plaintext),
    envelope: sealer.seal(plaintext, bindingBytes(table, column)),
  };
});

const good = vectors[0].envelope;
const body = good.slice(good.lastIndexOf(':') + 1);
const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
const invalid = [
  { name: 'flipped body character', table: 'users', column: 'email', envelope: flip(good, good.length - 5), code: 'SEALED_TAMPERED' },
  { name: 'truncated body', table: 'users', column: 'email', envelope: good.slice(0, -4), code: 'SEALED_TAMPERED' },
  { name: 'other column', table: 'users', column: 'name', envelope: good, code: 'SEALED_TAMPERED' },
  { name: 'other table', table: 'admins', column: 'email', envelope: good, code: 'SEALED_TAMPERED' },
  { name: 'unknown key id', table: 'users', column: 'email', envelope: `sealed:1:x:00000000:${body}`, code: 'SEALED_WRONG_KEY' },
  { name: 'missing key id', table: 'users', column: 'email', envelope: `sealed:1:x::${body}`, code: 'SEALED_MALFORMED' },
  { name: 'unknown version', table: 'users', column: 'email', envelope: good.replace('sealed:1:', 'sealed:2:'), code: 'SEALED_MALFORMED' },
  { name: 'unknown algorithm', table: 'users', column: 'email', envelope: good.replace(':x:', ':g:'), code: 'SEALED_MALFORMED' },
  { name: 'body shorter than nonce and tag', table: 'users', column: 'email', envelope: good.slice(0, 40), code: 'SEALED_MALFORMED' },
];

const out = {
  format: 'typeorm-sealed envelope v1 (see FORMAT.md)',
  key,
  keyId: ring.activeKeyId,
  derivation: {
    keyId: 'hex(HKDF-SHA256(ikm=key, salt=none, info="typeorm-sealed/v1/key-id", L=4))',
    encryptionKey: 'HKDF-SHA256(ikm=key, salt=none, info="typeorm-sealed/v1/encrypt", L=32)',
    aad: 'utf8("sealed:1:x:<keyId>:") || utf8(table) || 0x00 || utf8(column)',
    body: 'base64url(nonce[24] || XChaCha20-Poly1305 ciphertext || tag[16]), no padding',
  },
  vectors,
  invalid,
};
fs.writeFileSync(path.join(__dirname, '..', 'vectors', 'envelope-v1.json'), JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${vectors.length} vectors and ${invalid.length} invalid cases`);
