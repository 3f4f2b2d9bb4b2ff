import type { EntityMetadata } from 'typeorm';
import { INTERNAL_QUERY_MARKER } from '../../../src/internal-query';
import { WhereGuard } from '../../../src/typeorm/where-guard';
import { registerSealedProperty } from '../../../src/metadata/registry';

class Person {}
registerSealedProperty(Person, 'email', { valueType: 'string', boundTo: {} });
const column = { target: Person, propertyName: 'email', propertyPath: 'email', databaseName: 'email', length: '' };
const metadata = { name: 'Person', tableName: 'people', columns: [column], primaryColumns: [] } as unknown as EntityMetadata;
const guard = new WhereGuard([metadata]);

describe('WhereGuard', () => {
  it.each([
    'SELECT "p"."id" FROM "people" "p" WHERE "p"."email" = $1',
    'SELECT `p`.`id` FROM `people` `p` WHERE `p`.`email` LIKE ?',
    'SELECT "p"."id" FROM "public"."people" "p" WHERE "p"."email" NOT IN ($1)',
    'SELECT "p"."id" FROM "people" AS "p" WHERE "p"."email" BETWEEN $1 AND $2',
    'SELECT "x"."id" FROM "other" "x" INNER JOIN "people" "p" ON "p"."email" = "x"."email"',
    'UPDATE "people" SET "name" = $1 WHERE email <> $2',
    'DELETE FROM "people" WHERE ("email" = $1)',
    'SELECT "p"."id" FROM "people" "p" WHERE LOWER("p"."email") = $1',
    'SELECT "p"."id" FROM "people" "p" WHERE UPPER("p"."email") LIKE UPPER(?)',
    'SELECT "p"."id" FROM "people" "p" WHERE CAST("p"."email" AS TEXT) = $1',
    'SELECT "p"."id" FROM "people" "p" WHERE $1 = "p"."email"',
    'SELECT "p"."id" FROM "people" "p" WHERE ? = LOWER("p"."email")',
    'SELECT t.id FROM people t WHERE t.email = ?',
    'SELECT COUNT(*) FROM "people" WHERE "email" LIKE \'sealed\' OR "email" = \'x\'',
  ])('refuses %s', (sql) => {
    expect(() => guard.check(sql)).toThrow(expect.objectContaining({ code: 'SEALED_UNSUPPORTED_QUERY', entity: 'Person', column: 'email' }));
  });

  it.each([
    'SELECT "p"."email" AS "p_email" FROM "people" "p" WHERE "p"."email" IS NULL ORDER BY "p"."email"',
    'SELECT "p"."id" FROM "people" "p" WHERE "p"."name" = \'email = x\'',
    'UPDATE "people" SET "email" = $1 WHERE "id" = $2',
    'SELECT COUNT("p"."email") AS n FROM "people" "p" WHERE "p"."id" > $1',
    'SELECT "p"."id" FROM "people" "p" WHERE ("p"."email" IS NULL) AND "p"."id" = $1',
    'INSERT INTO "people"("email") VALUES ($1)',
    'SELECT "o"."id" FROM "other" "o" WHERE "o"."email" = $1',
    'SELECT "x"."id" FROM "other" "x" INNER JOIN "people" "p" ON "p"."id" = "x"."id" WHERE email = $1',
    'SELECT COUNT(*) FROM "people" WHERE "email" LIKE \'sealed:1:x:abcdef01:%\'',
    "SELECT COUNT(*) FROM `people` WHERE `email` NOT LIKE 'sealed:%' AND `email` IS NOT NULL",
    `UPDATE "people" SET "email" = $1 WHERE "email" = $2 ${INTERNAL_QUERY_MARKER}`,
  ])('allows %s', (sql) => {
    expect(() => guard.check(sql)).not.toThrow();
  });

  it('remembers harmless SQL by shape, and still refuses what it must', () => {
    const fresh = new WhereGuard([metadata]);
    const inspect = jest.spyOn(fresh as unknown as { inspect: (sql: string) => void }, 'inspect');
    for (let id = 1; id <= 50; id++) fresh.check(`SELECT "p"."email" AS "e" FROM "people" "p" WHERE "p"."id" = ${id} LIMIT 1`);
    expect(inspect).toHaveBeenCalledTimes(1);
    expect(() => fresh.check('SELECT "p"."id" FROM "people" "p" WHERE "p"."email" = $1 AND "p"."id" = 7')).toThrow(/SEALED_UNSUPPORTED_QUERY/);
    expect(() => fresh.check('SELECT "p"."id" FROM "people" "p" WHERE "p"."email" = $1 AND "p"."id" = 7')).toThrow(/SEALED_UNSUPPORTED_QUERY/);
  });
});
