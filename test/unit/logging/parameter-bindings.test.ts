import type { SqlLexicon } from '../../../src/compat/dialect';
import { bindingsOf, type Binding } from '../../../src/logging/parameter-bindings';
import { tokenize } from '../../../src/logging/sql-tokens';

/** Each parameter's bindings, as `qualifier.column` texts, 'none' or 'unknown'. */
function read(sql: string, lexicon: SqlLexicon): string[][] {
  const { parameters } = bindingsOf(tokenize(sql, lexicon));
  const shown = (b: Binding) => (typeof b === 'string' ? b : b.columns.map((c) => (c.qualifier ? `${c.qualifier}.${c.column}` : c.column)).join('+'));
  return [...parameters.keys()].sort((a, b) => a - b).map((p) => parameters.get(p)!.map(shown));
}

describe('bindingsOf', () => {
  it.each<[string, string[][], SqlLexicon]>([
    ['SELECT "u"."id" FROM "user" "u" WHERE (("u"."email" = $1)) AND "u"."login" <> $2', [['u.email'], ['u.login']], 'postgres'],
    ['SELECT * FROM `user` `u` WHERE `u`.`email` IN (?, ?) AND `u`.`id` NOT IN (?)', [['u.email'], ['u.email'], ['u.id']], 'mysql'],
    ['SELECT * FROM user WHERE LOWER(email) LIKE LOWER(?) OR name NOT ILIKE ?', [['email'], ['name']], 'sqlite'],
    ['SELECT * FROM "user" WHERE $1 = "user"."email" AND $2 IS NOT DISTINCT FROM login', [['user.email'], ['login']], 'postgres'],
    ['SELECT * FROM "user" WHERE "email" = ANY($1)', [['email']], 'postgres'],
    ['SELECT * FROM "user" WHERE score BETWEEN $1 AND $2 AND id NOT BETWEEN $3 AND $4', [['score'], ['score'], ['id'], ['id']], 'postgres'],
    ['UPDATE "user" SET "email" = $1, "emailIndex" = $2 WHERE "login" = $3', [['email'], ['emailindex'], ['login']], 'postgres'],
    ['UPDATE user SET note = note || ?, n = n + 1 WHERE id = ?', [['note+note'], ['id']], 'sqlite'],
    [
      'INSERT INTO "user"("login", "email", "n") VALUES ($1, $2, DEFAULT), ($3, LOWER($4), $5) RETURNING "id"',
      [['user.login'], ['user.email'], ['user.login'], ['user.email'], ['user.n']],
      'postgres',
    ],
    ['INSERT INTO t (a, b) VALUES (?, ?) ON DUPLICATE KEY UPDATE b = ?', [['t.a'], ['t.b'], ['b']], 'mysql'],
    ['INSERT INTO t SET a = ?', [['a']], 'mysql'],
    ['SELECT * FROM t WHERE (a, b) IN ((?, ?), (?, ?))', [['a+b'], ['a+b'], ['a+b'], ['a+b']], 'sqlite'],
    ['SELECT * FROM t WHERE a = $1::text AND CAST(b AS text) = $2', [['a+text'], ['b+text']], 'postgres'],
    ['SELECT * FROM t WHERE a = $1 OR a = $1', [['a', 'a']], 'postgres'],
    ['SELECT * FROM t LIMIT ? OFFSET ?', [['none'], ['none']], 'sqlite'],
  ])('%s', (sql, expected, lexicon) => {
    expect(read(sql, lexicon)).toEqual(expected);
  });

  it.each<[string, SqlLexicon]>([
    ['INSERT INTO t VALUES ($1, $2)', 'postgres'],
    ['INSERT INTO t (a) SELECT $1', 'postgres'],
    ['SELECT $1 AS x FROM t', 'postgres'],
    ['SELECT * FROM t WHERE CASE WHEN a IS NULL THEN b ELSE c END = $1', 'postgres'],
    ['SELECT * FROM t WHERE a COLLATE "C" = $1', 'postgres'],
    ['SELECT * FROM t WHERE 1 = $1', 'postgres'],
    ['SELECT * FROM t WHERE a = -$1', 'postgres'],
    ['SELECT * FROM t WHERE COALESCE(CAST($1 AS text), a) IS NULL', 'postgres'],
    ['SELECT * FROM t WHERE a LIKE $1 ESCAPE $2', 'postgres'],
  ])('finds no column for the last placeholder of %s', (sql, lexicon) => {
    expect(read(sql, lexicon).at(-1)).toEqual(['unknown']);
  });

  it('maps aliases and tables of FROM lists, joins, UPDATE, INTO and USING', () => {
    const { scope } = bindingsOf(
      tokenize('SELECT 1 FROM "public"."user" AS u, note n LEFT JOIN tag ON 1 = 1 WHERE EXISTS (SELECT 1 FROM user x) ; UPDATE ONLY acc SET a = 1', 'postgres'),
    );
    expect([...scope.tables].sort()).toEqual(['acc', 'note', 'tag', 'user']);
    expect(Object.fromEntries([...scope.aliases].map(([alias, tables]) => [alias, [...tables]]))).toEqual({
      user: ['user'],
      u: ['user'],
      x: ['user'],
      note: ['note'],
      n: ['note'],
      tag: ['tag'],
      acc: ['acc'],
    });
  });
});
