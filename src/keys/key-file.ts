import { readFile, stat } from 'node:fs/promises';
import { SealedError } from '../errors';
import { parseRing, type KeyRing } from './key-ring';

/** Options of {@link keyRingFromFile}. */
export interface KeyFileOptions {
  /** Accept a file that its group or other users can read (mode `0o044`). Default: `false`. */
  allowShared?: boolean;
}

/** A key file is a handful of keys: anything larger is not one. */
const MAX_FILE_BYTES = 64 * 1024;

/**
 * Reads a key ring from a file in the {@link KeyRing.fromString} format (`<active>,<older>...`;
 * white space and newlines around keys, a trailing newline too, are ignored), e.g. a secret mounted by Kubernetes or written by a secrets agent.
 * Refuses, with `SEALED_INVALID_KEY`, a file its group or others can read (unless
 * `allowShared`), a file that is not a regular file, larger than 64 KiB, or that does not parse.
 * Errors name the problem and the `code` of the system error, never the path (it could be a key
 * pasted in the wrong place) nor the content.
 *
 * @example
 * ```ts
 * // chmod 600 /run/secrets/typeorm-sealed-keys
 * const keys = await keyRingFromFile('/run/secrets/typeorm-sealed-keys');
 * const dataSource = new DataSource({ ..., subscribers: [sealedSubscriber({ keys })] });
 * ```
 */
export async function keyRingFromFile(path: string, options: KeyFileOptions = {}): Promise<KeyRing> {
  if (typeof path !== 'string' || path === '') throw new SealedError('SEALED_CONFIG', 'keyRingFromFile needs the path of the key file');
  let info: Awaited<ReturnType<typeof stat>>;
  let text: string;
  try {
    info = await stat(path);
    if (!info.isFile()) throw new SealedError('SEALED_INVALID_KEY', 'the key file is not a regular file');
    if (info.size > MAX_FILE_BYTES) throw new SealedError('SEALED_INVALID_KEY', `the key file is larger than ${MAX_FILE_BYTES} bytes: it is not a key ring`);
    // Windows has no such mode bits: the file's ACL decides there
    if (process.platform !== 'win32' && info.mode & 0o044 && !options.allowShared) {
      throw new SealedError(
        'SEALED_INVALID_KEY',
        `the key file can be read by its group or other users (mode ${(info.mode & 0o777).toString(8)}): chmod 600 it, or pass { allowShared: true }`,
      );
    }
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof SealedError) throw e;
    throw new SealedError('SEALED_INVALID_KEY', `the key file cannot be read (${systemCode(e)})`);
  }
  return parseRing(text, 'the key file');
}

/** The `code` of a system error (`ENOENT`, `EACCES`), never its message, which quotes the path. */
function systemCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]{2,15}$/.test(code) ? code : 'unknown error';
}
