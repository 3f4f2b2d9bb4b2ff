import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { commonJsCompilerFor } from '../../../src/jest/commonjs-compiler';
import nobleTransformer from '../../../src/jest/noble-transformer';

const ROOT = join(__dirname, '..', '..', '..');
const SHA2 = join(ROOT, 'node_modules', '@noble', 'hashes', 'sha2.js');
const source = readFileSync(SHA2, 'utf8');
const options = (rootDir: string, supportsStaticESM = false) => ({ supportsStaticESM, configString: '{}', config: { rootDir } });

/** Runs CommonJS code as Node's module wrapper would, requiring its imports beside `path`. */
function runCommonJs(code: string, path: string): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  const requireBeside = (id: string) => require(id.startsWith('.') ? join(dirname(path), id) : id);
  new Function('exports', 'require', 'module', code)(module.exports, requireBeside, module);
  return module.exports;
}

/** A project directory whose node_modules holds the given packages (links to this checkout's, or files). */
function project(packages: Record<string, string | { 'package.json': string; 'index.js': string }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sealed-jest-compiler-'));
  for (const [name, content] of Object.entries(packages)) {
    const target = join(dir, 'node_modules', name);
    mkdirSync(dirname(target), { recursive: true });
    if (typeof content === 'string') symlinkSync(content, target);
    else {
      mkdirSync(target);
      for (const [file, text] of Object.entries(content)) writeFileSync(join(target, file), text);
    }
  }
  return dir;
}

describe('the @noble transformer of typeorm-sealed/jest', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it("turns a @noble file into CommonJS with the project's TypeScript, which computes what the module does", () => {
    const { code } = nobleTransformer.process(source, SHA2, options(ROOT));
    expect(code).not.toMatch(/^(import|export) /m);
    const cjs = runCommonJs(code, SHA2) as { sha256: typeof sha256 };
    expect(bytesToHex(cjs.sha256(new TextEncoder().encode('abc')))).toBe(bytesToHex(sha256(new TextEncoder().encode('abc'))));
    expect(commonJsCompilerFor(ROOT).id).toMatch(/^typescript@5\./);
  });

  it('uses @swc/core where there is no TypeScript, or only TypeScript 7 (no transpileModule)', () => {
    const swc = join(ROOT, 'node_modules', '@swc', 'core');
    const typescript7 = { 'package.json': '{"name":"typescript","version":"7.0.2","main":"index.js"}', 'index.js': 'module.exports = { version: "7.0.2" };' };
    for (const packages of [{ '@swc/core': swc }, { '@swc/core': swc, typescript: typescript7 }]) {
      const dir = project(packages);
      dirs.push(dir);
      expect(commonJsCompilerFor(dir).id).toMatch(/^@swc\/core@1\./);
      const cjs = runCommonJs(nobleTransformer.process(source, SHA2, options(dir)).code, SHA2) as { sha256: typeof sha256 };
      expect(bytesToHex(cjs.sha256(new Uint8Array([1, 2])))).toBe(bytesToHex(sha256(new Uint8Array([1, 2]))));
    }
  });

  it('names both compilers when the project has neither', () => {
    const dir = project({});
    dirs.push(dir);
    expect(() => nobleTransformer.process(source, SHA2, options(dir))).toThrow(
      /^SEALED_CONFIG: typeorm-sealed\/jest turns @noble\/\* into CommonJS with typescript \(before 7\) or @swc\/core, and finds neither/,
    );
  });

  it('leaves a file Jest loads as an ES module as it is, under a cache key of its own', () => {
    expect(nobleTransformer.process(source, SHA2, options(ROOT, true)).code).toBe(source);
    const esm = nobleTransformer.getCacheKey(source, SHA2, options(ROOT, true));
    const cjs = nobleTransformer.getCacheKey(source, SHA2, options(ROOT));
    expect(esm).not.toBe(cjs);
    expect(nobleTransformer.getCacheKey(source, SHA2, options(ROOT))).toBe(cjs);
    expect(nobleTransformer.getCacheKey(`${source}\n`, SHA2, options(ROOT))).not.toBe(cjs);
  });
});
