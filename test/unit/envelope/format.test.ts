import { envelopeLength, looksSealed, parseEnvelope, sealedLength } from '../../../src/envelope/format';
import { bindingBytes, Sealer } from '../../../src/envelope/sealer';
import { generateKey } from '../../../src/keys/key-material';
import { KeyRing } from '../../../src/keys/key-ring';

describe('envelope format', () => {
  const sealer = new Sealer(new KeyRing({ active: generateKey() }));

  it('predicts the exact length of every envelope', () => {
    for (let n = 1; n <= 200; n++) {
      expect(sealer.seal(new Uint8Array(n), bindingBytes('t', 'c'))).toHaveLength(envelopeLength(n));
    }
    expect(sealedLength(0)).toBe(envelopeLength(1));
    expect(sealedLength(64)).toBe(envelopeLength(65));
    expect(() => sealedLength(-1)).toThrow(RangeError);
  });

  it('tells envelopes from plaintext by the prefix', () => {
    expect(looksSealed('sealed:1:x:abcdef01:AAAA')).toBe(true);
    expect(looksSealed('alice@example.com')).toBe(false);
    expect(looksSealed(42)).toBe(false);
  });

  it.each([
    ['sealed:1:x:abcdef01', /five ':'-separated parts sealed:1:x:<key id>:<body>/],
    ['sealed:2:x:abcdef01:AAAA', /unknown format version \(this library reads 1\)/],
    ['sealed:1:g:abcdef01:AAAA', /unknown algorithm/],
    ['sealed:1:x:ABCDEF01:AAAA', /no valid key id/],
    ['sealed:1:x:abcdef01:AA+A', /not base64url/],
    ['sealed:1:x:abcdef01:AAAAA', /not base64url/],
    ['sealed:1:x:abcdef01:AAAA', /shorter than the 41-byte minimum/],
  ])('refuses %s as SEALED_MALFORMED', (text, reason) => {
    expect(() => parseEnvelope(text)).toThrow(expect.objectContaining({ code: 'SEALED_MALFORMED', message: expect.stringMatching(reason) }));
  });

  it('never echoes what it parses: a legacy plaintext shaped like an envelope stays out of the message', () => {
    for (const text of [
      'sealed:hunter22:x:abcdef01:AAAA',
      'sealed:1:hunter22:abcdef01:AAAA',
      'sealed:1:x:hunter22:AAAA',
      'sealed:hunter22',
      'sealed:1:x:abcdef01:hunter22!',
    ]) {
      let message = '';
      try {
        parseEnvelope(text);
      } catch (e) {
        message = `${(e as Error).message} ${JSON.stringify(e)}`;
      }
      expect(message).toContain('SEALED_MALFORMED');
      expect(message).not.toContain('hunter22');
    }
  });
});
