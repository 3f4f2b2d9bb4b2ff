import { closeSync, openSync, readSync } from 'node:fs';
import { parseEnv } from 'node:util';

/** The file given with --dotenv could not be read. Exit code 3. */
export class EnvFileError extends Error {}

/**
 * Reads a `.env` file (`NAME=value` lines, as `node --env-file` and dotenv read them) into `env`,
 * before the data source file is loaded, so that file and the key variables see its values.
 * A variable already set in `env` keeps its value, as with `node --env-file`. Errors name the
 * system error code only: never the path (it may be something else put in the wrong place) nor
 * the file's content (it holds keys). The option is `--dotenv`, not `--env-file`: Node.js 20
 * acts on an `--env-file` anywhere in its command line, after the script too (it exits 9 when the
 * file is missing, printing the path).
 *
 * @example
 * ```sh
 * npx typeorm-sealed census --dotenv .env -d dist/data-source.js
 * ```
 */
export function loadEnvFile(file: string, env: NodeJS.ProcessEnv): void {
  let text: string;
  try {
    text = readAtMost(file, MAX_BYTES);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const shown = typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'an error';
    throw new EnvFileError(`cannot read the file given with --dotenv (${shown}; the argument is not shown, in case it was not a path)`);
  }
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined && value !== undefined) env[name] = value;
  }
}

/** A .env file is small; anything longer (a device such as /dev/zero, a wrong file) is refused, not read into memory. */
const MAX_BYTES = 1024 * 1024;

/** The file's text; `EFBIG` when it holds more than `limit` bytes (pipes too: it reads, it does not stat). */
function readAtMost(file: string, limit: number): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (let n; length <= limit && (n = readSync(fd, buffer, length, limit + 1 - length, null)) > 0;) length += n;
    if (length > limit) throw Object.assign(new Error('file too large'), { code: 'EFBIG' });
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}
