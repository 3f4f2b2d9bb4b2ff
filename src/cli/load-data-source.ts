import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DataSource } from 'typeorm';
import { isSealedError, printable } from '../errors';
import { DataSourceFileError } from './data-source-file-error';
import { nestModuleDataSource } from './nest-data-source';
import { isTypeScriptFile, NO_TYPESCRIPT_LOADER_HINT, registerTypeScriptLoader } from './typescript-loader';

export { DataSourceFileError };

const isDataSource = (value: unknown): value is DataSource =>
  typeof value === 'object' && value !== null && typeof (value as DataSource).initialize === 'function' && 'options' in value;

/**
 * Loads a file that exports a DataSource, as TypeORM's own CLI `-d` does: the default export, or
 * the only exported DataSource. CommonJS and ES modules both work. A TypeScript file (`.ts`,
 * `.mts`, `.cts`) is loaded through the project's tsx when it has one (see
 * {@link registerTypeScriptLoader}); without it, only a loader the CLI runs under can load it
 * (`node --import <loader> .../bin.js`), and the error says how to get one. A default export may also
 * be a promise of the DataSource (`module.exports = (async () => new DataSource({ ... await
 * keyRingFromFile(...) ... }))()`), for keys loaded asynchronously in a CommonJS file. A file
 * that exports no DataSource but a Nest module gives the DataSource its TypeOrmModule makes
 * (see {@link nestModuleDataSource}).
 */
export async function loadDataSource(file: string): Promise<DataSource> {
  const path = resolve(process.cwd(), file);
  if (!existsSync(path)) {
    // Not echoed: an argument that names no file may be something else put in the wrong place, such as a key.
    throw new DataSourceFileError('cannot load the data source file given with -d: no such file (the argument is not shown, in case it was not a path)');
  }
  const shown = printable(file);
  const typeScript = isTypeScriptFile(path);
  let module: Record<string, unknown>;
  let loader = false;
  try {
    loader = typeScript && (await registerTypeScriptLoader(path));
    module = await import(pathToFileURL(path).href);
  } catch (e) {
    const hint = typeScript && !loader ? ` (${NO_TYPESCRIPT_LOADER_HINT})` : '';
    const reason = isSealedError(e) ? e.message : loadFailure(e, typeScript);
    throw new DataSourceFileError(`cannot load ${shown}: ${reason}${hint}`);
  }
  if (isThenable(module.default)) {
    try {
      module = { ...module, default: await module.default };
    } catch (e) {
      const reason = isSealedError(e) ? e.message : loadFailure(e);
      throw new DataSourceFileError(`cannot load ${shown}: its exported promise failed: ${reason}`);
    }
  }
  const candidates = [module.default, (module.default as Record<string, unknown> | undefined)?.default, ...Object.values(module)];
  const found = [...new Set(candidates.filter(isDataSource))];
  if (found.length === 0) {
    const fromNest = await nestModuleDataSource(path, module, shown);
    if (fromNest) return fromNest;
    throw new DataSourceFileError(`${shown} exports no DataSource (export one as default or by name) and no Nest module`);
  }
  if (found.length > 1 && !isDataSource(module.default))
    throw new DataSourceFileError(`${shown} exports ${found.length} DataSources; export the one to use as default`);
  return isDataSource(module.default) ? module.default : found[0]!;
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';

/**
 * What loading a file threw, by its class and code only: the message of a SyntaxError or
 * ReferenceError quotes the file's content, which may be a key file passed to -d by mistake.
 */
function loadFailure(error: unknown, typeScript = false): string {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  const kind = typeof name === 'string' && /^[A-Za-z]{1,40}$/.test(name) ? name : 'an error';
  const withCode = typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? `${kind} (${code})` : kind;
  const run = typeScript ? 'node --import tsx <file>' : 'node <file>';
  return `loading it threw ${withCode}; the message is not shown, as it can quote the file's content (run it with ${run} to see it)`;
}
