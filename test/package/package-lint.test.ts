// The packed package as users' tools see it: publint (package.json and files), Are the types
// wrong? (types under node10, node16 from CommonJS and from ESM, bundler), the manifest a user
// installs (no install-time scripts), and source maps that carry their sources.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, TARBALL } from '../consumers/support/consumer-project';

const ROOT = join(__dirname, '..', '..');
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);

describe('the packed package', () => {
  let unpacked: string;
  beforeAll(() => {
    unpacked = mkdtempSync(join(tmpdir(), 'sealed-unpacked-'));
    execFileSync('tar', ['-xzf', TARBALL, '-C', unpacked]);
  });
  afterAll(() => rmSync(unpacked, { recursive: true, force: true }));

  it('passes publint --strict', async () => {
    const result = await run(bin('publint'), ['run', TARBALL, '--strict'], ROOT);
    expect(result.stdout + result.stderr).toContain('All good!');
    expect(result.code).toBe(0);
  }, 120_000);

  it('has correct types under node10, node16 (CommonJS and ESM) and bundler resolution', async () => {
    const result = await run(bin('attw'), [TARBALL, '--format', 'json'], ROOT);
    const report = JSON.parse(result.stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } };
    expect(Object.keys(report.analysis.entrypoints)).toContain('.');
    expect(report.analysis.problems).toEqual([]);
    expect(result.code).toBe(0);
  }, 120_000);

  it('runs no script when installed', () => {
    const manifest = JSON.parse(readFileSync(join(unpacked, 'package', 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) expect(manifest.scripts?.[script]).toBeUndefined();
  });

  it('ships every source map with the sources it points at', () => {
    const maps = readdirSync(join(unpacked, 'package', 'dist'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(20);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(unpacked, 'package', 'dist', file), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      expect({ file, contents: map.sourcesContent?.filter((content) => content.length > 0).length }).toEqual({ file, contents: map.sources.length });
    }
  });
});
