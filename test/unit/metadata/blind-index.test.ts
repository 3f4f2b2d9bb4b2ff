import { resolveBlindIndex, blindIndexLength } from '../../../src/metadata/blind-index';

const where = { entity: 'User', column: 'email' };
const resolve = (options: Parameters<typeof resolveBlindIndex>[0], valueType: Parameters<typeof resolveBlindIndex>[1] = 'string') =>
  resolveBlindIndex(options, valueType, 'email', where);

describe('@Encrypted({ index }) options', () => {
  it('resolves the defaults: 128 bits, not unique, HMAC, NFC', () => {
    const spec = resolve(true);
    expect(spec).toMatchObject({ property: 'emailBlindIndex', bits: 128, unique: false, slowLogN: undefined });
    expect(spec.normalize('e\u0301')).toBe('\u00e9');
    expect(spec.normalize(' A ')).toBe(' A ');
    expect(blindIndexLength(128)).toBe(41);
  });

  it('applies normalisation steps in order, or a function', () => {
    expect(resolve({ normalize: ['trim', 'lowercase'] }).normalize('  Alice@Example.COM ')).toBe('alice@example.com');
    expect(resolve({ normalize: 'nfkc' }).normalize('\ufb01')).toBe('fi');
    expect(resolve({ normalize: (s) => s.replace(/\D/g, '') }).normalize('+33 (1) 23')).toBe('33123');
    expect(resolve(true, 'date').normalize(new Date(5))).toEqual(new Date(5));
    expect(Object.is(resolve(true, 'number').normalize(-0), 0)).toBe(true); // -0 === 0: one index value
  });

  it.each([
    [{ bits: 7 }, /bits must be a multiple of 4 from 8 to 256/],
    [{ bits: 260 }, /bits must be a multiple of 4/],
    [{ bits: 64, unique: true }, /a unique index needs bits >= 128 \(got 64\)/],
    [{ slow: { logN: 30 } }, /slow\.logN must be an integer from 10 to 20/],
    [{ normalize: ['upper'] }, /normalize takes a step \(trim, lowercase, nfc, nfkc\), an array of steps, or a function/],
    [{ normalize: ['toString'] }, /normalize takes a step/], // not a step, though every object has it
    [{ normalize: 5 }, /normalize takes a step/],
    [{ column: '' }, /column must be a non-empty string/],
    [{ sorted: true }, /has no option "sorted"/],
  ])('refuses %j with SEALED_CONFIG naming the field', (options, message) => {
    expect(() => resolve(options as never)).toThrow(
      expect.objectContaining({ code: 'SEALED_CONFIG', entity: 'User', column: 'email', message: expect.stringMatching(message) }),
    );
  });

  it('refuses normalisation of a field that is not a string', () => {
    expect(() => resolve({ normalize: 'trim' }, 'number')).toThrow(/normalize applies to strings; this field's valueType is number/);
  });

  it('does not echo a normalisation step it refuses', () => {
    expect(() => resolve({ normalize: ['q3J0c2VjcmV0LWtleS1ieXRlcy1oZXJlLTMyYnl0ZXM='] as never })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('q3J0') }),
    );
  });
});
