import type { Logger } from 'typeorm';
import { redactingLogger } from '../../../src/logging/redacting-logger';

/** A logger that records each call's method and arguments, and returns what it was called with first. */
function recorder(): Logger & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  const record =
    (method: string) =>
    (...args: unknown[]) => {
      calls.push([method, ...args]);
      return `${method} done`;
    };
  return {
    calls,
    logQuery: record('logQuery'),
    logQueryError: record('logQueryError'),
    logQuerySlow: record('logQuerySlow'),
    logSchemaBuild: record('logSchemaBuild'),
    logMigration: record('logMigration'),
    log: record('log'),
  };
}

describe('redactingLogger', () => {
  it.each([undefined, null, 'advanced-console', {}, { ...recorder(), log: undefined }])('refuses %p as the logger to wrap', (inner) => {
    expect(() => redactingLogger(inner as never)).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }));
  });

  it.each([null, 'all', { maskAll: 'yes' }, { maskall: true }])('refuses the options %p', (options) => {
    expect(() => redactingLogger(recorder(), options as never)).toThrow(expect.objectContaining({ code: 'SEALED_CONFIG' }));
  });

  it('passes schema, migration and other messages on as they are, with what the logger returns', () => {
    const inner = recorder();
    const logger = redactingLogger(inner);
    expect(logger.logSchemaBuild('CREATE TABLE "t"')).toBe('logSchemaBuild done');
    logger.logMigration('Migration M1 has been executed');
    logger.log('warn', { note: 'kept' });
    expect(inner.calls).toEqual([
      ['logSchemaBuild', 'CREATE TABLE "t"', undefined],
      ['logMigration', 'Migration M1 has been executed', undefined],
      ['log', 'warn', { note: 'kept' }, undefined],
    ]);
  });

  it('masks every parameter, and its value in an error, when no query runner says which DataSource a statement belongs to', () => {
    const inner = recorder();
    const logger = redactingLogger(inner);
    expect(logger.logQuery('SELECT $1', ['a', null])).toBe('logQuery done');
    logger.logQuerySlow(5, 'SELECT ?', [7]);
    logger.logQueryError(new Error('bad value alice'), 'SELECT $1', ['alice']);
    logger.logQuery('SELECT 1');
    expect(inner.calls.map(([method, ...args]) => [method, ...args.map((a) => (a instanceof Error ? a.message : a))])).toEqual([
      ['logQuery', 'SELECT $1', ['[redacted]', null], undefined],
      ['logQuerySlow', 5, 'SELECT ?', ['[redacted]'], undefined],
      ['logQueryError', 'bad value [redacted]', 'SELECT $1', ['[redacted]'], undefined],
      ['logQuery', 'SELECT 1', undefined, undefined],
    ]);
  });
});
