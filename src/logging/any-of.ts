/** A letter, digit or underscore: what a word is made of. */
const WORD = String.raw`[\p{L}\p{N}_]`;

/**
 * A regular expression matching any of `texts` literally, the longer first where one starts
 * another. With `edges: 'word'`, a text that starts (or ends) with a letter, digit or underscore
 * matches only where no such character comes before (or after) it, as a whole word.
 *
 * @example
 * ```ts
 * 'a.b and a'.replace(anyOf(['a', 'a.b'], 'g'), '_'); // '_ and _'
 * 'an a'.replace(anyOf(['a'], 'g', 'word'), '_'); // 'an _'
 * ```
 */
export function anyOf(texts: Iterable<string>, flags: string, edges: 'anywhere' | 'word' = 'anywhere'): RegExp {
  const word = new RegExp(`^${WORD}$`, 'u');
  const pattern = (text: string) => {
    const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (edges === 'anywhere') return escaped;
    const before = word.test(text[0] ?? '') ? `(?<!${WORD})` : '';
    const after = word.test(text.at(-1) ?? '') ? `(?!${WORD})` : '';
    return `${before}${escaped}${after}`;
  };
  const sorted = [...texts].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(pattern).join('|'), `${flags}u`);
}
