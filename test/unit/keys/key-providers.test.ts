// Key providers: a file, a program that prints the ring, a passphrase. Errors never carry what
// could be a key: file contents, paths, program output or arguments, passphrases.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey, generateSalt, keyFromPassphrase, keyIdOf, KeyRing, keyRingFromCommand, keyRingFromFile } from 'typeorm-sealed';

const [active, older] = [generateKey(), generateKey()];
const node = process.execPath;
/** argv running a snippet of JavaScript in a fresh node. */
const script = (code: string) => [node, '-e', code];

describe('keyRingFromFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sealed-keyfile-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (content: string, mode = 0o600) => {
    const path = join(dir, 'keys');
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };

  it('reads "<active>,<older>" with a trailing newline', async () => {
    const ring = await keyRingFromFile(write(`${active},${older}\n`));
    expect(ring.keyIds).toEqual([keyIdOf(active), keyIdOf(older)]);
  });

  if (process.platform !== 'win32') {
    it('refuses a file its group or others can read, unless allowed', async () => {
      const path = write(`${active}\n`, 0o640);
      await expect(keyRingFromFile(path)).rejects.toMatchObject({ code: 'SEALED_INVALID_KEY', message: expect.stringContaining('mode 640): chmod 600 it') });
      await expect(keyRingFromFile(path, { allowShared: true })).resolves.toBeInstanceOf(KeyRing);
    });
  }

  it('names a missing file or a directory by its system code, never by its path or content', async () => {
    const missing = join(dir, active.replace(/\//g, '_'));
    const error = await keyRingFromFile(missing).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'SEALED_INVALID_KEY', message: expect.stringContaining('cannot be read (ENOENT)') });
    expect((error as Error).message).not.toContain(active.slice(0, 10));
    await expect(keyRingFromFile(dir)).rejects.toMatchObject({ message: expect.stringContaining('not a regular file') });
    const garbled = await keyRingFromFile(write(`${active.slice(0, 30)}\n`)).catch((e: Error) => e);
    expect(garbled).toMatchObject({ code: 'SEALED_INVALID_KEY', message: expect.stringContaining('active key decodes to 22 bytes') });
    expect((garbled as Error).message).not.toContain(active.slice(0, 10));
  });
});

describe('keyRingFromCommand', () => {
  it('reads the ring a program prints', async () => {
    const ring = await keyRingFromCommand(script(`process.stdout.write(${JSON.stringify(`${active},${older}\n`)})`));
    expect(ring.keyIds).toEqual([keyIdOf(active), keyIdOf(older)]);
  });

  it('reports exit codes, signals, timeouts, missing programs and too much output, never stderr or arguments', async () => {
    const cases: [string[], object, RegExp][] = [
      [script(`process.stderr.write(${JSON.stringify(active)}); process.exit(3)`), {}, /the key command exited with code 3; its output is not shown/],
      [script('setTimeout(() => {}, 60000)'), { timeoutMs: 300 }, /did not finish within 300 ms and was killed/],
      [script("process.kill(process.pid, 'SIGTERM')"), {}, /was killed by SIGTERM/],
      [['typeorm-sealed-no-such-program', active], {}, /was not found/],
      [script("process.stdout.write('x'.repeat(100000))"), {}, /printed more than 65536 bytes/],
    ];
    for (const [argv, options, message] of cases) {
      const error = await keyRingFromCommand(argv, options).catch((e: Error) => e);
      expect(error).toMatchObject({ code: 'SEALED_INVALID_KEY', message: expect.stringMatching(message) });
      expect((error as Error).message).not.toContain(active.slice(0, 10));
    }
  });

  it('refuses output that is not a key ring without echoing it', async () => {
    const error = await keyRingFromCommand(script(`process.stdout.write(${JSON.stringify(`${active.slice(0, 20)}\n`)})`)).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'SEALED_INVALID_KEY', message: expect.stringContaining('active key decodes to 15 bytes') });
    expect((error as Error).message).not.toContain(active.slice(0, 10));
  });

  it('refuses a command line that is not an array of strings', async () => {
    await expect(keyRingFromCommand([] as string[])).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
    await expect(keyRingFromCommand('vault read' as never)).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
    await expect(keyRingFromCommand([node], { timeoutMs: 0 })).rejects.toMatchObject({ code: 'SEALED_CONFIG' });
  });
});

describe('keyFromPassphrase', () => {
  const salt = generateSalt();
  const passphrase = 'correct horse battery staple';

  it('derives the same key from the same passphrase and salt, another from another salt', async () => {
    const key = await keyFromPassphrase(passphrase, { salt, logN: 15 });
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(await keyFromPassphrase(passphrase, { salt, logN: 15 })).toBe(key);
    expect(await keyFromPassphrase(passphrase, { salt: generateSalt(), logN: 15 })).not.toBe(key);
    expect(new KeyRing({ active: key }).activeKeyId).toBe(keyIdOf(key));
  });

  it('normalises the passphrase to NFC, so one passphrase typed two ways gives one key', async () => {
    const composed = 'caf\u00e9 au lait sans sucre';
    expect(await keyFromPassphrase(composed, { salt, logN: 15 })).toBe(await keyFromPassphrase(composed.normalize('NFD'), { salt, logN: 15 }));
  });

  it('refuses a short passphrase, a bad salt and a cost out of range, echoing none of them', async () => {
    for (const [pass, options, message] of [
      ['fifteen chars!!', { salt }, /at least 16 characters/],
      [passphrase, { salt: 'c2hvcnQ=' }, /at least 16 random bytes/],
      [passphrase, { salt: `${passphrase}!` }, /salt must be base64/],
      [passphrase, { salt, logN: 12 }, /logN must be an integer from 15 to 20/],
    ] as const) {
      const error = await keyFromPassphrase(pass, options).catch((e: Error) => e);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('horse');
    }
  });
});
