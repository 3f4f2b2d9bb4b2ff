import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { SealedError } from '../errors';

/**
 * The options of a Jest configuration (Jest 29 or 30, `Config` from `jest` included) that
 * {@link withTypeormSealed} changes; every other option is passed through as it is.
 */
export interface JestConfigOptions {
  preset?: string | null | undefined;
  transform?: JestTransforms | undefined;
  transformIgnorePatterns?: string[] | undefined;
  projects?: Array<string | JestConfigOptions> | undefined;
  [option: string]: unknown;
}

/** Jest's `transform`: file pattern -> transformer, or [transformer, its options]. */
export type JestTransforms = { [pattern: string]: string | [string, unknown] };

/** A configuration after {@link withTypeormSealed}: both options are set. */
export type WithTypeormSealed<T extends JestConfigOptions> = T & { transform: JestTransforms; transformIgnorePatterns: string[] };

/** The files of `@noble/ciphers` and `@noble/hashes` (npm and pnpm layouts). */
const NOBLE_FILES = '/node_modules/@noble/.+\\.js$';
/** Jest's default `transformIgnorePatterns`. */
const JEST_IGNORED = ['/node_modules/', '\\.pnp\\.[^\\/]+$'];
/** Jest's default `transform` for a configuration without one or a preset. */
const JEST_TRANSFORM = { '\\.[jt]sx?$': 'babel-jest' };
const TRANSFORMER = join(__dirname, 'noble-transformer.js');

/**
 * A pattern matching what `pattern` matches, except the files of `@noble/*`: Jest skips
 * transforming a file that any of its `transformIgnorePatterns` matches.
 */
const exceptNoble = (pattern: string): string => `^(?!.*/node_modules/@noble/).*?(?:${pattern})`;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Refuses what is not a Jest configuration (`what` names it in the message) before reading it. */
function checkConfig(value: unknown, what: string): asserts value is JestConfigOptions {
  if (typeof value === 'function') {
    throw new SealedError('SEALED_CONFIG', `withTypeormSealed takes ${what} as an object: call it on the object your configuration function returns`);
  }
  if (!isObject(value)) throw new SealedError('SEALED_CONFIG', `withTypeormSealed takes ${what} as an object`);
  const { transform, transformIgnorePatterns, projects } = value;
  if (transform !== undefined && !isObject(transform)) throw new SealedError('SEALED_CONFIG', `${what}: transform must be an object of pattern -> transformer`);
  if (transformIgnorePatterns !== undefined && !(Array.isArray(transformIgnorePatterns) && transformIgnorePatterns.every((p) => typeof p === 'string'))) {
    throw new SealedError('SEALED_CONFIG', `${what}: transformIgnorePatterns must be an array of strings`);
  }
  if (projects !== undefined && !Array.isArray(projects)) throw new SealedError('SEALED_CONFIG', `${what}: projects must be an array`);
}

/**
 * Whether the preset sets `transform` (undefined: the preset cannot be read here). Jest merges a
 * preset's transforms with the configuration's, but adds its babel-jest default only when neither
 * has any: a preset without transforms would leave the project's own files untransformed once
 * the @noble entry is there.
 */
function presetTransforms(preset: string, rootDir: unknown): boolean | undefined {
  const root = typeof rootDir === 'string' ? rootDir : process.cwd();
  const named = preset.replace(/<rootDir>/g, root);
  const base = named.startsWith('.') || isAbsolute(named) ? resolve(root, named) : `${named}/jest-preset`;
  const require = createRequire(join(root, 'jest.config.js'));
  for (const extension of ['', '.json', '.js', '.cjs']) {
    try {
      return isObject((require(`${base}${extension}`) as { transform?: unknown }).transform);
    } catch {
      // not this extension (or not readable here)
    }
  }
  return undefined;
}

function withNoble<T extends JestConfigOptions>(project: T): WithTypeormSealed<T> {
  const transform =
    project.transform ?? (project.preset ? (presetTransforms(project.preset, project.rootDir) === false ? JEST_TRANSFORM : {}) : JEST_TRANSFORM);
  return {
    ...project,
    transform: { [NOBLE_FILES]: TRANSFORMER, ...transform },
    transformIgnorePatterns: (project.transformIgnorePatterns ?? JEST_IGNORED).map(exceptNoble),
  };
}

/**
 * Makes a Jest configuration load typeorm-sealed: `@noble/ciphers` and `@noble/hashes` ship ES
 * modules only, which Jest's module system cannot `require` (only Jest 30 on Node 24.9 or later,
 * run with `--experimental-vm-modules`, can). It returns the configuration with
 *
 * - a `transform` entry, first, that turns `node_modules/@noble/**.js` into CommonJS with the
 *   TypeScript or `@swc/core` the project already has (files Jest loads as ES modules are left as
 *   they are). Your transforms (or your preset's) follow unchanged; with no `transform` of yours
 *   nor of your preset's (a preset found from `rootDir`, or the current directory, without one),
 *   Jest's default babel-jest for `.js`/`.ts` files is kept;
 * - `transformIgnorePatterns` (yours, or Jest's default `/node_modules/` ones) that no longer
 *   match `@noble/*`, so it is transformed while the rest of node_modules still is not.
 *
 * Inline `projects` get the same changes; projects given as paths to other configuration files
 * do not: wrap those configurations too. A preset's own `transformIgnorePatterns` are not seen
 * (yours, or Jest's defaults, take their place): copy them into the configuration you wrap.
 * Throws `SEALED_CONFIG` for what is not a configuration object (a configuration function: call
 * it on the object the function returns).
 *
 * @example
 * ```js
 * // jest.config.js
 * const { withTypeormSealed } = require('typeorm-sealed/jest');
 * module.exports = withTypeormSealed({ preset: 'ts-jest', testEnvironment: 'node' });
 * ```
 */
export function withTypeormSealed<T extends JestConfigOptions>(config: T): WithTypeormSealed<T> {
  checkConfig(config, 'the Jest configuration');
  const wrapped = withNoble(config);
  if (!config.projects) return wrapped;
  const projects = config.projects.map((project, i) => {
    if (typeof project === 'string') return project;
    checkConfig(project, `projects[${i}]`);
    return withNoble(project);
  });
  return { ...wrapped, projects };
}
