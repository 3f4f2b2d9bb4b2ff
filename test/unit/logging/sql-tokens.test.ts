import { tokenize, type Token } from '../../../src/logging/sql-tokens';

const parameters = (tokens: Token[]) => tokens.filter((t) => t.kind === 'parameter').map((t) => [t.text, t.parameter]);

describe('tokenize', () => {
  it('numbers PostgreSQL placeholders as written, and reads $ inside names, strings and dollar quotes as text', () => {
    const tokens = tokenize(`SELECT a$1, '$2', $tag$ $3 $tag$, $$ $4 $$, E'\\' $5', "$6" FROM t WHERE x = $2 AND y = $1`, 'postgres');
    expect(parameters(tokens)).toEqual([
      ['$2', 1],
      ['$1', 0],
    ]);
    expect(tokens.find((t) => t.kind === 'word' && t.text.startsWith('A'))?.text).toBe('A$1');
  });

  it('numbers ? in order on MySQL/MariaDB, ?? too, and skips them in strings with backslash escapes, # and -- comments', () => {
    const tokens = tokenize('SELECT \'it\\\'s ?\', `a?`, "b\\"?" FROM t # ?\n WHERE ?? = ? -- ?\n AND y = ?', 'mysql');
    expect(parameters(tokens)).toEqual([
      ['??', 0],
      ['?', 1],
      ['?', 2],
    ]);
  });

  it('numbers SQLite ?NNN as written and a bare ? one past the highest so far, and reads [names]', () => {
    const tokens = tokenize('SELECT [a?] FROM t WHERE a = ?2 AND b = ? AND c = ?1 AND d = ?', 'sqlite');
    expect(parameters(tokens)).toEqual([
      ['?2', 1],
      ['?', 2],
      ['?1', 0],
      ['?', 3],
    ]);
    expect(tokens[1]).toEqual({ kind: 'quoted', text: 'a?' });
  });

  it('skips block comments, nested on PostgreSQL only', () => {
    expect(parameters(tokenize('SELECT /* a /* b */ $1 */ $2', 'postgres'))).toEqual([['$2', 1]]);
    expect(parameters(tokenize('SELECT /* a /* b */ ? */ ?', 'sqlite'))).toEqual([
      ['?', 0],
      ['?', 1],
    ]);
  });

  it('leaves ? to PostgreSQL operators, reads quoted names without quotes, and words in upper case', () => {
    expect(tokenize('SELECT "a""b" FROM t WHERE doc ?| $1', 'postgres')).toEqual([
      { kind: 'word', text: 'SELECT' },
      { kind: 'quoted', text: 'a"b' },
      { kind: 'word', text: 'FROM' },
      { kind: 'word', text: 'T' },
      { kind: 'word', text: 'WHERE' },
      { kind: 'word', text: 'DOC' },
      { kind: 'operator', text: '?' },
      { kind: 'operator', text: '|' },
      { kind: 'parameter', text: '$1', parameter: 0 },
    ]);
  });

  it('reads an unterminated string or comment to the end', () => {
    expect(parameters(tokenize("SELECT 'a ? ", 'sqlite'))).toEqual([]);
    expect(parameters(tokenize('SELECT /* ? ', 'mysql'))).toEqual([]);
  });
});
