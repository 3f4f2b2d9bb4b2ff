import type { EntityMetadata } from 'typeorm';
import type { SqlLexicon } from '../../../src/compat/dialect';
import { registerSealedProperty } from '../../../src/metadata/registry';
import { MASK, maskParameters } from '../../../src/logging/parameter-mask';
import { SensitiveColumns } from '../../../src/logging/sensitive-columns';

class Person {}
registerSealedProperty(Person, 'email', {
  valueType: 'string',
  boundTo: {},
  index: { property: 'emailIndex', bits: 128, unique: false, slowLogN: undefined, normalize: (v) => v },
});
const column = (target: object, propertyName: string, databaseName = propertyName) => ({ target, propertyName, propertyPath: propertyName, databaseName });
const entity = (name: string, tableName: string, columns: object[]) => ({ name, tableName, columns, primaryColumns: [] }) as unknown as EntityMetadata;
/** `people` (id, login, email encrypted, emailIndex its blind index) and `contacts`, whose plain `email` column is no secret. */
const columns = new SensitiveColumns([
  entity('Person', 'people', [column(Person, 'id'), column(Person, 'login'), column(Person, 'email'), column(Person, 'emailIndex', 'email_index')]),
  entity('Contact', 'contacts', [column(class Contact {}, 'email')]),
]);
const reader = (lexicon: SqlLexicon) => ({ lexicon, columns });
const shown = (sql: string, parameters: unknown[] | object, lexicon: SqlLexicon = 'postgres') =>
  maskParameters(sql, parameters, reader(lexicon), false).parameters;

describe('maskParameters', () => {
  it('masks what binds to an encrypted or blind index column, and shows the rest', () => {
    expect(shown('SELECT * FROM "people" "p" WHERE "p"."login" = $1 AND "p"."email" = $2', ['alice', 'secret'])).toEqual(['alice', MASK]);
    expect(shown('SELECT * FROM `people` `p` WHERE `p`.`EMAIL_INDEX` IN (?, ?) AND `p`.`id` > ?', ['h1', 'h2', 7], 'mysql')).toEqual([MASK, MASK, 7]);
    expect(shown('INSERT INTO people (login, email, email_index) VALUES (?, ?, ?)', ['bob', 'secret', 'h'], 'sqlite')).toEqual(['bob', MASK, MASK]);
    expect(shown('UPDATE people SET email = $2 WHERE id = $1', [7, 'secret'])).toEqual([7, MASK]);
  });

  it('tells tables apart: a column of the same name in a table without secrets shows', () => {
    expect(shown('SELECT * FROM contacts c JOIN people p ON p.id = c.id WHERE c.email = $1 AND p.email = $2', ['public', 'secret'])).toEqual(['public', MASK]);
    // unqualified, with both tables in the statement: it may be either
    expect(shown('SELECT * FROM contacts, people WHERE email = $1', ['x'])).toEqual([MASK]);
    // in a statement that mentions sensitive data, a name that leads to no entity table (a view, a
    // CTE, a derived table, a select list alias) may stand for a sensitive column: masked
    expect(shown('SELECT * FROM people_view v WHERE v.email = $1 AND v.login = $2', ['secret', 'alice'])).toEqual([MASK, MASK]);
    expect(shown('WITH s AS (SELECT id, email AS c FROM people) SELECT * FROM s WHERE c = $1', ['secret'])).toEqual([MASK]);
    expect(shown('SELECT * FROM (SELECT id, email AS c FROM people) s WHERE s.c = $1', ['secret'])).toEqual([MASK]);
    expect(shown('SELECT * FROM people p JOIN (SELECT id FROM contacts) s ON s.id = p.id WHERE p.login = $1', ['alice'])).toEqual(['alice']);
  });

  it('masks a parameter in a place it cannot read when the statement mentions a sensitive column or table, and only then', () => {
    expect(shown('SELECT $1 AS x FROM people', ['secret'])).toEqual([MASK]);
    expect(shown('SELECT $1 AS x FROM contacts', ['public'])).toEqual(['public']);
    expect(shown('SELECT $1 AS x /* email */', ['x'])).toEqual([MASK]);
    expect(shown('SELECT * FROM contacts WHERE note = $1 /* email */', ['x'])).toEqual(['x']);
    expect(shown('SELECT * FROM t LIMIT $1', [10])).toEqual([10]);
  });

  it('masks every parameter of a mentioning statement when placeholders and parameters do not match one to one, or are named', () => {
    expect(shown('SELECT * FROM people WHERE login = ? AND id = ?', ['alice', 1, 'extra'], 'sqlite')).toEqual([MASK, MASK, MASK]);
    expect(shown('SELECT * FROM people WHERE login = $2', ['alice', 'bob'])).toEqual([MASK, MASK]);
    expect(shown('SELECT * FROM people WHERE login = :login', { login: 'alice' })).toEqual({ login: MASK });
    expect(shown('SELECT * FROM contacts WHERE login = :login', { login: 'alice' })).toEqual({ login: 'alice' });
  });

  it('masks envelopes and blind index values wherever they appear, also inside arrays', () => {
    const envelope = 'sealed:1:x:9f3a0c1d:AAAA';
    expect(shown('SELECT * FROM t WHERE a = $1 AND b = $2 AND c = ANY($3)', [envelope, '9f3a0c1d:00ff', [1, '9f3a0c1d:ab']])).toEqual([MASK, MASK, MASK]);
  });

  it('keeps null and undefined, masks everything with maskAll or without a reader, and says which values it masked', () => {
    const sql = 'SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3';
    expect(maskParameters(sql, [1, null, undefined], reader('postgres'), true)).toEqual({ parameters: [MASK, null, undefined], masked: [1] });
    expect(maskParameters(sql, ['x', 2, null], undefined, false)).toEqual({ parameters: [MASK, MASK, null], masked: ['x', 2] });
    expect(maskParameters(sql, undefined, reader('postgres'), true)).toEqual({ parameters: undefined, masked: [] });
  });

  it('returns new parameters, leaving the caller’s untouched', () => {
    const parameters = ['secret'];
    expect(shown('SELECT * FROM people WHERE email = $1', parameters)).not.toBe(parameters);
    expect(parameters).toEqual(['secret']);
  });
});
