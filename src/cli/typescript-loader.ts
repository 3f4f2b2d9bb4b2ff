import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** A file the CLI loads through a TypeScript loader: `.ts`, `.mts` or `.cts`. */
export const isTypeScriptFile = (path: string): boolean => /\.[cm]?ts$/.test(path);

/** What to do when no loader is found: appended to the error about a `.ts` data source file. */
export const NO_TYPESCRIPT_LOADER_HINT =
  'a TypeScript data source needs a loader, and tsx cannot be found from its directory: ' +
  'install it in the project (npm install --save-dev tsx) and the CLI loads .ts files itself, or pass the compiled .js file';

/**
 * Registers the TypeScript loader of the project that holds `file`, as `node --import tsx` does:
 * tsx, resolved from the file's directory as the file's own imports would be, so the CLI needs no
 * loader of its own and compiles with the project's version (tsx reads the tsconfig.json found from
 * the current directory, as the `tsx` command does). Returns false, registering nothing, when tsx is
 * not installed there. Registering it again (the CLI already runs under `node --import tsx`)
 * changes nothing.
 *
 * @example
 * ```ts
 * if (!(await registerTypeScriptLoader('/app/src/data-source.ts'))) console.error(NO_TYPESCRIPT_LOADER_HINT);
 * const module = await import('file:///app/src/data-source.ts');
 * ```
 */
export async function registerTypeScriptLoader(file: string): Promise<boolean> {
  let loader: string;
  try {
    loader = createRequire(file).resolve('tsx');
  } catch {
    return false; // not installed where the file is
  }
  await import(pathToFileURL(loader).href);
  return true;
}
