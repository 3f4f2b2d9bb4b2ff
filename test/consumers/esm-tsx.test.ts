// An ES module application ("type": "module") that installs the packed package: tsc (module
// nodenext) compiles it against the shipped declarations and it runs on dist/index.mjs; tsx runs
// its TypeScript directly, and the installed CLI loads its data-source.ts through that tsx.
import { generateKey, keyIdOf } from 'typeorm-sealed';
import { testDialects, workerPostgresUrl } from '../integration/support/dialects';
import { installConsumer, succeeded, type ConsumerProject } from './support/consumer-project';

const onPostgres = testDialects().includes('postgres');

(onPostgres ? describe : describe.skip)('an ES module project compiled by tsc and run by tsx, on postgres', () => {
  const [oldKey, newKey] = [generateKey(), generateKey()];
  let project: ConsumerProject;
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await workerPostgresUrl();
    project = await installConsumer('esm-tsx');
    succeeded(await project.run('npx', ['tsc', '-p', '.']), 'tsc');
  }, 240_000);
  afterAll(() => project?.remove());

  const writeNotes = async () => {
    const run = await project.run('node', ['dist/round-trip.js'], { env: { DATABASE_URL: databaseUrl, TYPEORM_SEALED_KEYS: oldKey } });
    return JSON.parse(succeeded(run, 'node dist/round-trip.js').stdout) as { stored: string[]; read: string[]; oneInstance: boolean };
  };

  it('writes and reads @Encrypted fields through the ES module entry, which shares one instance with require()', async () => {
    const { stored, read, oneInstance } = await writeNotes();
    expect(stored).toHaveLength(2);
    for (const value of stored) expect(value).toMatch(new RegExp(`^sealed:1:x:${keyIdOf(oldKey)}:`));
    expect(stored.join()).not.toContain('secret');
    expect(read).toEqual(['first secret', 'second secret']);
    expect(oneInstance).toBe(true);
  }, 60_000);

  it('the installed CLI rotates through src/data-source.ts, loaded with the project tsx, and the node --import tsx form sees the result', async () => {
    await writeNotes();
    const env = { DATABASE_URL: databaseUrl, TYPEORM_SEALED_KEYS: `${newKey},${oldKey}` };
    succeeded(await project.run('npx', ['typeorm-sealed', 'rotate', '-d', 'src/data-source.ts'], { env }), 'typeorm-sealed rotate');
    const census = await project.run(
      'node',
      ['--import', 'tsx', 'node_modules/typeorm-sealed/dist/cli/bin.js', 'census', '-d', 'src/data-source.ts', '--json'],
      { env },
    );
    succeeded(census, 'typeorm-sealed census under node --import tsx');
    expect(JSON.parse(census.stdout).columns).toEqual([
      expect.objectContaining({ entity: 'Note', column: 'body', total: 2, byKeyId: { [keyIdOf(newKey)]: 2 } }),
    ]);
  }, 120_000);

  it('under tsx, @Encrypted without valueType says no design:type metadata was emitted although emitDecoratorMetadata is on', async () => {
    const compiled = succeeded(await project.run('node', ['dist/no-value-type.js']), 'node dist/no-value-type.js'); // tsc emitted the metadata
    expect(compiled.stdout).toBe('declared\n');
    const underTsx = await project.run('npx', ['tsx', 'src/no-value-type.ts']);
    expect(underTsx.code).toBe(1);
    expect(underTsx.stderr).toContain(
      'Inferred.secret: cannot infer the value type: the compiler emitted no design:type metadata for this property (esbuild and tsx never do, even with emitDecoratorMetadata on;',
    );
  }, 60_000);
});
