import { MASK } from '../../../src/logging/parameter-mask';
import { redactedError } from '../../../src/logging/redacted-error';

/** An error as pg or mysql2 make them: a message, fields, and a stack. */
function driverError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe('redactedError', () => {
  it('takes masked values out of the message and detail, keeps naming fields, and drops everything else', () => {
    const error = driverError('duplicate key value violates unique constraint "IDX_email"', {
      code: '23505',
      severity: 'ERROR',
      table: 'people',
      constraint: 'IDX_email',
      detail: 'Key ("email_index")=(9f3a0c1d:00ff) already exists.',
      sql: "INSERT INTO people VALUES ('9f3a0c1d:00ff')",
      parameters: ['9f3a0c1d:00ff'],
    });
    const copy = redactedError(error, ['9f3a0c1d:00ff']) as Error & Record<string, unknown>;
    expect(copy).not.toBe(error);
    expect(copy.message).toBe(error.message);
    expect({ ...copy }).toEqual({
      name: 'Error',
      code: '23505',
      severity: 'ERROR',
      table: 'people',
      constraint: 'IDX_email',
      detail: `Key ("email_index")=(${MASK}) already exists.`,
    });
  });

  it('masks every form of a value the driver may quote, and an excerpt it cut short', () => {
    const long = `secret-${'x'.repeat(300)}`;
    const text = (error: unknown) => String(redactedError(error, [long, 42n, new Date(0), Buffer.from('bytes!'), { k: 'v' }]));
    expect(text(new Error(`Duplicate entry '${long.slice(0, 64)}...' for key 'IDX_note'`))).toBe(`Error: Duplicate entry '${MASK}' for key 'IDX_note'`);
    expect(text('42 at 1970-01-01T00:00:00.000Z, bytes! 627974657321 {"k":"v"}')).toBe(`${MASK} at ${MASK}, ${MASK} ${MASK} ${MASK}`);
  });

  it('masks stored values no parameter carried: envelopes and index values anywhere, and PostgreSQL failing rows whole', () => {
    const error = driverError('new row for relation "app_user" violates check constraint "CHK_login"', {
      code: '23514',
      detail: 'Failing row contains (2, forbidden, sealed:1:x:5d9f2ded:AbCd-_9, 8a48d725:207cb978aa, LONGPLAINTEXT-phone-of-a-user...).',
    });
    expect((redactedError(error, []) as Error & { detail: string }).detail).toBe(`Failing row contains (${MASK}).`);
    const cut = `value sealed:1:x:5d9f2ded:AbCd... and 8a48d725:207c in 'x'`;
    expect(String(redactedError(cut, []))).toBe(`value ${MASK} and ${MASK} in 'x'`);
    expect(String(redactedError('index IDX_0a1b2c3d on 12:30', []))).toBe('index IDX_0a1b2c3d on 12:30');
  });

  it('replaces a longer value before a shorter one inside it, and values as whole words', () => {
    expect(String(redactedError('a: abc', ['a', 'abc']))).toBe(`${MASK}: ${MASK}`);
    expect(String(redactedError('bad value 1 for IDX_17 (@x, a@x)', [1, '@x']))).toBe(`bad value ${MASK} for IDX_17 (${MASK}, a${MASK})`);
  });

  it('keeps the name and the stack frames, without the original message', () => {
    const error = new TypeError('value secret is not valid');
    const copy = redactedError(error, ['secret']) as Error;
    expect(copy.name).toBe('TypeError');
    expect(copy.stack).not.toContain('secret');
    expect(copy.stack!.split('\n')[0]).toBe(`TypeError: value ${MASK} is not valid`);
    expect(copy.stack!.split('\n').slice(1)).toEqual(error.stack!.split('\n').slice(1));
  });

  it('survives a parameter JSON cannot write', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(String(redactedError(new Error('failed'), [circular]))).toBe('Error: failed');
  });
});
