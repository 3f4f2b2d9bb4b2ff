import { createHash } from 'node:crypto';
import { commonJsCompilerFor, type CommonJsCompiler } from './commonjs-compiler';

/** The part of Jest's transform options (Jest 29 and 30) this transformer reads. */
export interface NobleTransformOptions {
  /** True when Jest loads the file as an ES module (`--experimental-vm-modules`): it is left as it is. */
  supportsStaticESM?: boolean;
  /** Jest's serialised project configuration. */
  configString: string;
  config: { rootDir: string };
}

const compilers = new Map<string, CommonJsCompiler>();

function compilerFor(rootDir: string): CommonJsCompiler {
  let compiler = compilers.get(rootDir);
  if (!compiler) {
    compiler = commonJsCompilerFor(rootDir);
    compilers.set(rootDir, compiler);
  }
  return compiler;
}

/**
 * A Jest transformer for `@noble/ciphers` and `@noble/hashes`, which ship ES modules only: it
 * turns each of their files into CommonJS with the compiler the project already has (see
 * {@link commonJsCompilerFor}), so typeorm-sealed's CommonJS build can `require` them inside
 * Jest's module system. When Jest loads a file as an ES module (`supportsStaticESM`) it returns
 * it unchanged. `withTypeormSealed` from `typeorm-sealed/jest` registers it; it is not meant for
 * other files.
 *
 * @example
 * ```ts
 * const { code } = nobleTransformer.process(source, '/app/node_modules/@noble/hashes/sha2.js', { configString: '{}', config: { rootDir: '/app' } });
 * ```
 */
const nobleTransformer = {
  process(source: string, path: string, options: NobleTransformOptions): { code: string } {
    if (options.supportsStaticESM) return { code: source };
    return { code: compilerFor(options.config.rootDir).compile(source, path) };
  },

  getCacheKey(source: string, path: string, options: NobleTransformOptions): string {
    const output = options.supportsStaticESM ? 'esm' : compilerFor(options.config.rootDir).id;
    return createHash('sha256').update(source).update('\0').update(path).update('\0').update(options.configString).update('\0').update(output).digest('hex');
  },
};

export default nobleTransformer;
