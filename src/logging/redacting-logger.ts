import type { Logger, ObjectLiteral, QueryRunner } from 'typeorm';
import { findDialect } from '../compat/dialect';
import { dataSourceOf } from '../compat/typeorm';
import { quoted, SealedError } from '../errors';
import { maskParameters, type MaskedParameters } from './parameter-mask';
import { redactedError } from './redacted-error';
import { sensitiveColumnsOf } from './sensitive-columns';

/** Options of {@link redactingLogger}. */
export interface RedactingLoggerOptions {
  /** Mask every parameter of every statement, whatever it binds to (`null` and `undefined` still show). Default: `false`. */
  maskAll?: boolean;
}

const LOGGER_METHODS = ['logQuery', 'logQueryError', 'logQuerySlow', 'logSchemaBuild', 'logMigration', 'log'] as const;
const OPTIONS = new Set(['maskAll']);

/** Positional (an array) or named (an object) parameters, as TypeORM 1.x passes them (0.3: arrays only). */
type LoggedParameters = unknown[] | ObjectLiteral;

/**
 * Wraps a TypeORM logger so that the values of encrypted and blind index columns never reach it.
 * Set it as the DataSource's `logger`: every statement's parameters are passed on with those that
 * bind to an encrypted or blind index column, and every envelope or blind index value, replaced by
 * `'[redacted]'`, and so are the values a failed statement's error quotes (see the README's
 * "Query logging" for the rules and their limits). Schema, migration and other messages pass as
 * they are. TypeORM ignores `logging` when `logger` is an object: give the levels to the logger
 * you wrap, as TypeORM's own loggers take them.
 *
 * @example
 * ```ts
 * import { AdvancedConsoleLogger, DataSource } from 'typeorm';
 *
 * const dataSource = new DataSource({
 *   type: 'postgres',
 *   entities: [User],
 *   subscribers: [sealedSubscriber({ keys: KeyRing.fromEnv() })],
 *   logger: redactingLogger(new AdvancedConsoleLogger(['query', 'error'])),
 * });
 * ```
 */
export function redactingLogger(inner: Logger, options: RedactingLoggerOptions = {}): Logger {
  if (typeof inner !== 'object' || inner === null || LOGGER_METHODS.some((m) => typeof inner[m] !== 'function')) {
    throw new SealedError(
      'SEALED_CONFIG',
      `redactingLogger needs a TypeORM Logger object (with ${LOGGER_METHODS.join(', ')}), e.g. new AdvancedConsoleLogger(['query', 'error']); ` +
        'a logger name such as "advanced-console" is not one',
    );
  }
  if (typeof options !== 'object' || options === null) throw new SealedError('SEALED_CONFIG', 'redactingLogger options must be an object');
  const unknown = Object.keys(options).find((key) => !OPTIONS.has(key));
  if (unknown !== undefined) throw new SealedError('SEALED_CONFIG', `redactingLogger has no option ${quoted(unknown)}`);
  if (options.maskAll !== undefined && typeof options.maskAll !== 'boolean')
    throw new SealedError('SEALED_CONFIG', 'redactingLogger maskAll must be true or false');
  return new RedactingLogger(inner, options.maskAll ?? false);
}

/** The logger {@link redactingLogger} makes. */
class RedactingLogger implements Logger {
  constructor(
    private readonly inner: Logger,
    private readonly maskAll: boolean,
  ) {}

  logQuery(query: string, parameters?: LoggedParameters, queryRunner?: QueryRunner): unknown {
    return this.inner.logQuery(query, this.masked(query, parameters, queryRunner).parameters as never, queryRunner);
  }

  logQueryError(error: string | Error, query: string, parameters?: LoggedParameters, queryRunner?: QueryRunner): unknown {
    const masked = this.masked(query, parameters, queryRunner);
    return this.inner.logQueryError(redactedError(error, masked.masked), query, masked.parameters as never, queryRunner);
  }

  logQuerySlow(time: number, query: string, parameters?: LoggedParameters, queryRunner?: QueryRunner): unknown {
    return this.inner.logQuerySlow(time, query, this.masked(query, parameters, queryRunner).parameters as never, queryRunner);
  }

  logSchemaBuild(message: string, queryRunner?: QueryRunner): unknown {
    return this.inner.logSchemaBuild(message, queryRunner);
  }

  logMigration(message: string, queryRunner?: QueryRunner): unknown {
    return this.inner.logMigration(message, queryRunner);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown, queryRunner?: QueryRunner): unknown {
    return this.inner.log(level, message, queryRunner);
  }

  /** The statement's parameters as the log may show them: read against the runner's DataSource, all masked without one. */
  private masked(query: string, parameters: LoggedParameters | undefined, queryRunner: QueryRunner | undefined): MaskedParameters {
    const dataSource = queryRunner && dataSourceOf(queryRunner);
    const dialect = dataSource && findDialect(dataSource);
    return maskParameters(query, parameters, dialect && { lexicon: dialect.lexicon, columns: sensitiveColumnsOf(dataSource) }, this.maskAll);
  }
}
