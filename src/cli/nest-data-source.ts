import { createRequire } from 'node:module';
import type { DataSource } from 'typeorm';
import { isSealedError, printable } from '../errors';
import { DataSourceFileError } from './data-source-file-error';
import { describeForeignError } from './foreign-error';

/** What the CLI uses of `@nestjs/core` and `@nestjs/typeorm`, loaded from the application's own copies. */
interface NestContext {
  get(token: unknown, options: { strict: false }): unknown;
  close(): Promise<void>;
}
interface NestCore {
  NestFactory: { createApplicationContext(module: Function, options: { logger: NestLogger; abortOnError: false }): Promise<NestContext> };
}
interface NestTypeOrm {
  getDataSourceToken(): unknown;
}
type NestLogger = Record<'log' | 'error' | 'warn' | 'fatal' | 'debug' | 'verbose', (message: unknown) => void>;

/** `@Module({ ... })` writes each key it is given as metadata on the class. */
const MODULE_KEYS = ['imports', 'providers', 'controllers', 'exports'];

const isNestModule = (value: unknown): value is Function =>
  typeof value === 'function' && MODULE_KEYS.some((key) => (Reflect as { hasOwnMetadata?: (k: string, t: object) => boolean }).hasOwnMetadata?.(key, value));

/**
 * Nest's warnings and errors that are text (its own messages, TypeOrmModule's "Unable to connect
 * to the database. Retrying (n)...") go to stderr, so stdout holds only the report (`--json`);
 * its other lines are left out, and so are logged objects (errors, which may carry anything: the
 * CLI reports a failed start itself).
 */
function toStderr(message: unknown): void {
  if (typeof message !== 'string') return;
  for (const line of message.split('\n')) process.stderr.write(`typeorm-sealed: nest: ${printable(line)}\n`);
}
const NEST_LOGGER: NestLogger = { log() {}, debug() {}, verbose() {}, error: toStderr, warn: toStderr, fatal: toStderr };

/**
 * The DataSource of a Nest application, for a `-d` file that exports a Nest module (a class with
 * `@Module()` metadata: the default export, or the only one) instead of a DataSource: the module
 * is started as an application context (no HTTP server; its providers and lifecycle hooks run as
 * when the application starts), with `@nestjs/core` and `@nestjs/typeorm` loaded from the file's
 * own `node_modules`, and its default DataSource (`TypeOrmModule.forRoot[Async]` without a name)
 * is taken: the same options, keys and `sealedSubscriber` as the application, and `.env` read by
 * its `ConfigModule`. The CLI then destroys the DataSource as usual, which closes the context
 * (its shutdown hooks run; TypeOrmModule's destroys the DataSource). Undefined when the file
 * exports no Nest module.
 *
 * @example
 * ```sh
 * npx typeorm-sealed census -d dist/app.module.js   # exports AppModule
 * ```
 */
export async function nestModuleDataSource(path: string, exports: Record<string, unknown>, shown: string): Promise<DataSource | undefined> {
  const values = [exports.default, ...Object.values(exports), ...(typeof exports.default === 'object' ? Object.values(exports.default ?? {}) : [])];
  const modules = [...new Set(values.filter(isNestModule))];
  if (modules.length === 0) return undefined;
  if (modules.length > 1 && !isNestModule(exports.default)) {
    throw new DataSourceFileError(`${shown} exports ${modules.length} Nest modules and no DataSource; export the module to start as default`);
  }
  const module = isNestModule(exports.default) ? exports.default : modules[0]!;
  const name = `the Nest module${/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(module.name) ? ` ${module.name}` : ''}`;
  let core: NestCore;
  let typeorm: NestTypeOrm;
  try {
    const require = createRequire(path);
    core = require('@nestjs/core') as NestCore;
    typeorm = require('@nestjs/typeorm') as NestTypeOrm;
  } catch {
    throw new DataSourceFileError(`${shown} exports ${name}, but @nestjs/core or @nestjs/typeorm cannot be loaded from where the file is`);
  }
  let context: NestContext;
  try {
    context = await core.NestFactory.createApplicationContext(module, { logger: NEST_LOGGER, abortOnError: false });
  } catch (e) {
    const sealed = isSealedError(e);
    throw new DataSourceFileError(`cannot start ${name} of ${shown}: ${sealed ? (e as Error).message : describeForeignError(e)}`);
  }
  let dataSource: DataSource;
  try {
    dataSource = context.get(typeorm.getDataSourceToken(), { strict: false }) as DataSource;
  } catch {
    await context.close();
    throw new DataSourceFileError(`${name} of ${shown} has no default DataSource: import TypeOrmModule.forRoot() or forRootAsync() (without a name) in it`);
  }
  Object.defineProperty(dataSource, 'destroy', {
    configurable: true,
    value: async () => {
      delete (dataSource as { destroy?: unknown }).destroy; // TypeOrmModule's shutdown hook calls TypeORM's own
      await context.close();
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  });
  return dataSource;
}
