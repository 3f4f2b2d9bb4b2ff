import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A file the CLI loads through a TypeScript loader: `.ts`, `.mts` or `.cts`. */
export const isTypeScriptFile = (path: string): boolean => /\.[cm]?ts$/.test(path);

/** What to do when no loader is found: appended to the error about a `.ts` data source file. */
export const NO_TYPESCRIPT_LOADER_HINT =
  'a TypeScript data source needs a loader, and tsx is not installed in its project (nor under the current directory): ' +
  'install it in the project (npm install --save-dev tsx) and the CLI loads .ts files itself, run the CLI under one ' +
  '(node --import tsx node_modules/typeorm-sealed/dist/cli/bin.js ...), or pass the compiled .js file';

/**
 * Registers the TypeScript loader of the project that holds `file`, as `node --import tsx` does:
 * tsx, resolved from the file's directory as the file's own imports would be, and found inside the
 * file's project (the nearest directory with a package.json) or under the current directory, so the CLI needs no
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
  // Node's resolution climbs to every parent node_modules (a world-writable /tmp/node_modules too)
  // and NODE_PATH: code is run only from the file's project or from under the current directory
  // (a monorepo's root, where tsx is hoisted).
  if (![projectOf(file), process.cwd()].some((root) => root !== undefined && isInside(loader, root))) return false;
  await import(pathToFileURL(loader).href);
  return true;
}

/** The nearest directory above `file` holding a package.json. */
function projectOf(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

const isInside = (path: string, dir: string): boolean => {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};
