import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from 'jest';
import { withTypeormSealed } from '../../../src/jest/with-typeorm-sealed';

const NOBLE = '/node_modules/@noble/.+\\.js$';
const NOBLE_FILES = ['/app/node_modules/@noble/hashes/sha2.js', '/app/node_modules/.pnpm/@noble+ciphers@2.4.0/node_modules/@noble/ciphers/chacha.js'];

/** Whether Jest leaves `path` untransformed: it joins the patterns into one expression. */
const ignored = (patterns: string[], path: string) => new RegExp(patterns.join('|')).test(path);

describe('withTypeormSealed', () => {
  it('puts the @noble transform first, before the preset or your own transforms', () => {
    expect(Object.keys(withTypeormSealed({ preset: 'ts-jest' }).transform)).toEqual([NOBLE]);
    const swc = withTypeormSealed({ transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', {}] } });
    expect(Object.entries(swc.transform)).toEqual([
      [NOBLE, expect.stringMatching(/[\\/]noble-transformer\.js$/)],
      ['^.+\\.(t|j)sx?$', ['@swc/jest', {}]],
    ]);
  });

  it("keeps Jest's babel-jest default for a configuration with neither transform nor preset", () => {
    expect(withTypeormSealed({ testEnvironment: 'node' }).transform).toEqual({ [NOBLE]: expect.any(String), '\\.[jt]sx?$': 'babel-jest' });
  });

  it("keeps Jest's babel-jest default under a preset that has no transform (Jest adds it only when none is set)", () => {
    const root = mkdtempSync(join(tmpdir(), 'sealed-jest-preset-'));
    try {
      mkdirSync(join(root, 'node_modules', 'plain-preset'), { recursive: true });
      writeFileSync(join(root, 'node_modules', 'plain-preset', 'jest-preset.json'), JSON.stringify({ testEnvironment: 'node' }));
      mkdirSync(join(root, 'node_modules', 'compiling-preset'), { recursive: true });
      writeFileSync(join(root, 'node_modules', 'compiling-preset', 'jest-preset.js'), "module.exports = { transform: { '^.+\\.ts$': 'ts-jest' } };");
      expect(withTypeormSealed({ preset: 'plain-preset', rootDir: root }).transform).toEqual({ [NOBLE]: expect.any(String), '\\.[jt]sx?$': 'babel-jest' });
      expect(Object.keys(withTypeormSealed({ preset: 'compiling-preset', rootDir: root }).transform)).toEqual([NOBLE]);
      expect(Object.keys(withTypeormSealed({ preset: '<rootDir>/node_modules/plain-preset/jest-preset.json', rootDir: root }).transform)).toHaveLength(2);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("transforms @noble/* (npm and pnpm layouts) while Jest's default still ignores the rest of node_modules", () => {
    const { transformIgnorePatterns } = withTypeormSealed({ preset: 'ts-jest' });
    for (const path of NOBLE_FILES) {
      expect(ignored(transformIgnorePatterns, path)).toBe(false);
      expect(new RegExp(NOBLE).test(path)).toBe(true);
    }
    expect(ignored(transformIgnorePatterns, '/app/node_modules/typeorm/index.js')).toBe(true);
    expect(ignored(transformIgnorePatterns, '/app/.pnp.cjs')).toBe(true);
    expect(ignored(transformIgnorePatterns, '/app/src/user.ts')).toBe(false);
    expect(ignored(['/node_modules/(?!@noble/)'], NOBLE_FILES[1]!)).toBe(true); // why README sends pnpm users here instead of that line
  });

  it('keeps what your own patterns mean, anchors and alternatives included', () => {
    const { transformIgnorePatterns } = withTypeormSealed({ transformIgnorePatterns: ['/node_modules/(?!(uuid|nanoid)/)', '^/app/generated/|\\.snap$'] });
    expect(ignored(transformIgnorePatterns, '/app/node_modules/uuid/index.js')).toBe(false);
    expect(ignored(transformIgnorePatterns, '/app/node_modules/pg/lib/index.js')).toBe(true);
    expect(ignored(transformIgnorePatterns, '/app/generated/x.js')).toBe(true);
    expect(ignored(transformIgnorePatterns, '/elsewhere/app/generated/x.js')).toBe(false);
    expect(ignored(transformIgnorePatterns, '/app/x.snap')).toBe(true);
    for (const path of NOBLE_FILES) expect(ignored(transformIgnorePatterns, path)).toBe(false);
  });

  it('changes inline projects too, leaves projects given as files, and passes other options through', () => {
    const config = withTypeormSealed({ testTimeout: 10_000, projects: ['<rootDir>/api/jest.config.js', { displayName: 'web', preset: 'ts-jest' }] });
    expect(config.testTimeout).toBe(10_000);
    expect(config.projects![0]).toBe('<rootDir>/api/jest.config.js');
    expect(config.projects![1]).toMatchObject({ displayName: 'web', preset: 'ts-jest', transform: { [NOBLE]: expect.any(String) } });
  });

  it('refuses what is not a configuration object, before reading it', () => {
    const take = (config: unknown) => () => withTypeormSealed(config as never);
    expect(take(undefined)).toThrow('SEALED_CONFIG: withTypeormSealed takes the Jest configuration as an object');
    expect(take(async () => ({}))).toThrow(/call it on the object your configuration function returns/);
    expect(take({ transformIgnorePatterns: '/node_modules/' })).toThrow('the Jest configuration: transformIgnorePatterns must be an array of strings');
    expect(take({ transform: ['ts-jest'] })).toThrow('transform must be an object of pattern -> transformer');
    expect(take({ projects: {} })).toThrow('projects must be an array');
    expect(take({ projects: ['a', { transformIgnorePatterns: [1] }] })).toThrow('projects[1]: transformIgnorePatterns must be an array of strings');
  });

  it("takes and returns Jest's own Config type", () => {
    const config: Config = { preset: 'ts-jest', transform: { '^.+\\.tsx?$': ['ts-jest', { isolatedModules: true }] } };
    const wrapped: Config = withTypeormSealed(config);
    expect(Object.keys(withTypeormSealed(config).transform)).toEqual([NOBLE, '^.+\\.tsx?$']);
    expect(wrapped.preset).toBe('ts-jest');
  });

  it('names the built transformer, which the package ships', () => {
    const built = require(join(__dirname, '..', '..', '..', 'dist', 'jest', 'index.js')) as typeof import('../../../src/jest/index');
    const transformer = built.withTypeormSealed({ preset: 'ts-jest' }).transform[NOBLE] as string;
    expect(existsSync(transformer)).toBe(true);
  });
});
