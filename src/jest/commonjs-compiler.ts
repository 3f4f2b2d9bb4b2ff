import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SealedError } from '../errors';

/** Turns one ES module file into CommonJS. */
export interface CommonJsCompiler {
  /** Which compiler, with its version (part of Jest's cache key). */
  readonly id: string;
  compile(source: string, path: string): string;
}

interface TypeScriptApi {
  version: string;
  transpileModule?: (
    source: string,
    options: { fileName: string; compilerOptions: Record<string, unknown>; reportDiagnostics: boolean },
  ) => { outputText: string };
  ModuleKind: { CommonJS: unknown };
  ScriptTarget: { ES2022: unknown };
}

interface SwcApi {
  version: string;
  transformSync(source: string, options: Record<string, unknown>): { code: string };
}

/**
 * The compiler a project already has, found from its directory (Jest's `rootDir`) as its own
 * imports would be: TypeScript's `transpileModule` (TypeScript before 7; ts-jest needs one),
 * else `@swc/core` (what @swc/jest runs). Neither type-checks: each file is converted on its own,
 * keeping its syntax (ES2022 target) and changing only import/export.
 *
 * @example
 * ```ts
 * const compiler = commonJsCompilerFor('/app');
 * const code = compiler.compile('export const one = 1;', '/app/node_modules/x/one.js'); // exports.one = 1
 * ```
 */
export function commonJsCompilerFor(rootDir: string): CommonJsCompiler {
  const require = createRequire(join(rootDir, 'package.json'));
  const typescript = load<TypeScriptApi>(require, 'typescript');
  const transpile = typescript?.transpileModule;
  if (typescript && transpile) {
    const compilerOptions = { module: typescript.ModuleKind.CommonJS, target: typescript.ScriptTarget.ES2022 };
    return {
      id: `typescript@${typescript.version}`,
      compile: (source, fileName) => transpile(source, { fileName, compilerOptions, reportDiagnostics: false }).outputText,
    };
  }
  const swc = load<SwcApi>(require, '@swc/core');
  if (swc) {
    const options = { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' }, swcrc: false, configFile: false };
    return { id: `@swc/core@${swc.version}`, compile: (source, filename) => swc.transformSync(source, { ...options, filename }).code };
  }
  throw new SealedError(
    'SEALED_CONFIG',
    `typeorm-sealed/jest turns @noble/* into CommonJS with typescript (before 7) or @swc/core, and finds neither from Jest's rootDir ${JSON.stringify(rootDir)}: install one of them there`,
  );
}

/** The package if the project has it; undefined when it cannot be found. Loading it may throw. */
function load<T>(require: NodeRequire, name: string): T | undefined {
  let path: string;
  try {
    path = require.resolve(name);
  } catch {
    return undefined;
  }
  return require(path) as T;
}
