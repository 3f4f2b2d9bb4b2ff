import { parseArgs, UsageError } from '../../../src/cli/args';

const usage = (argv: string[]): string => {
  try {
    parseArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`${argv.join(' ')} parsed`);
};

describe('CLI arguments', () => {
  const key = 'q3J0d2VydHl1aW9wYXNkZmdoamtsenhjdmJubTEyMzQ=';

  it('parses commands, key actions, options with values in both spellings, and repeated --entity', () => {
    expect(parseArgs(['rotate', '-d', 'ds.js', '--entity', 'A', '--entity=B', '--batch-size=5', '--dry-run', '--json'])).toMatchObject({
      command: 'rotate',
      dataSource: 'ds.js',
      entities: ['A', 'B'],
      batchSize: 5,
      dryRun: true,
      json: true,
      yes: false,
    });
    expect(parseArgs(['census', '--dataSource=ds.js']).dataSource).toBe('ds.js');
    expect(parseArgs(['census', '-dds.js']).dataSource).toBe('ds.js');
    expect(parseArgs(['census', '--dotenv', '.env', '-d', 'dist/app.module.js']).envFile).toBe('.env');
    expect(parseArgs(['keys', 'shred', '--scope', 'tenant-1', '--yes'])).toMatchObject({ command: 'keys', keyAction: 'shred', scope: 'tenant-1', yes: true });
    expect(parseArgs(['keys', 'activate', '0123abcd']).keyId).toBe('0123abcd');
    expect(parseArgs(['rotate', '-h']).help).toBe(true);
    expect(parseArgs(['verify', '--max-failures', '5000']).maxFailures).toBe(5000);
  });

  it('refuses what does not parse, saying what', () => {
    expect(usage(['frobnicate'])).toBe(
      'unknown command "frobnicate"; commands: generate-key, census, verify, rotate, encrypt-existing, reindex, decrypt-all, keys',
    );
    expect(usage(['keys', 'burn'])).toContain('unknown keys action "burn"');
    expect(usage(['rotate', '--bogus'])).toBe('unknown option "--bogus"');
    expect(usage(['rotate', '-d'])).toBe('-d needs a value');
    expect(usage(['rotate', '-d', '--json'])).toBe('-d needs a value');
    expect(usage(['rotate', '--scope='])).toBe('--scope needs a value');
    expect(usage(['rotate', '--json=yes'])).toBe('--json takes no value');
    expect(usage(['verify', '--max-failures', '0'])).toBe('--max-failures must be a positive integer');
    expect(usage(['rotate', '--batch-size', '1e3'])).toBe('--batch-size must be a positive integer');
    expect(usage(['keys', 'activate', 'ABCDEF12'])).toContain('a data key id is 8 lowercase hex characters');
    expect(usage(['rotate', 'extra'])).toContain('unexpected argument "extra"');
    expect(usage(['rotate', '--', 'x'])).toBe('unexpected "--"');
    expect(usage(['generate-key', '--json'])).toBe('--json does not apply to generate-key (it takes --quiet, --help)');
    expect(usage(['verify', '-d', 'ds.js', '--dry-run'])).toContain('--dry-run does not apply to verify');
    expect(usage(['census', '--scope', 't1'])).toContain('--scope does not apply to census');
    expect(usage(['census', '-d', 'a.js', '--dataSource', 'b.js'])).toBe('--dataSource given twice (or with another spelling)');
    expect(parseArgs(['rotate', '--scope', 't1', '--dry-run']).scope).toBe('t1');
  });

  it('never echoes an argument that could be a key pasted by mistake', () => {
    for (const argv of [['rotate', key], [key], ['rotate', `--${key}`], ['rotate', '--batch-size', key], ['keys', 'shred', key], ['correct-horse-battery']]) {
      const message = usage(argv);
      for (const secret of [key, 'correct-horse-battery'])
        for (let i = 0; i + 8 <= secret.length; i += 4) expect(message).not.toContain(secret.slice(i, i + 8));
    }
  });
});
