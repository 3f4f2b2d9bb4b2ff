import { anyOf } from '../../../src/logging/any-of';

describe('anyOf', () => {
  it('matches any of the texts literally, the longest first', () => {
    expect('a.b axb (x) a'.replace(anyOf(['a', 'a.b', '(x)'], 'g'), '_')).toBe('_ _xb _ _');
  });

  it('with word edges, matches a text that starts or ends with a word character only as a whole word', () => {
    expect('an a a1 _a é-a 7 17 @x a@x'.replace(anyOf(['a', '7', '@x'], 'g', 'word'), '_')).toBe('an _ a1 _a é-_ _ 17 _ __');
  });
});
