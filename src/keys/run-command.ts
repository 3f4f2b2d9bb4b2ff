import { execFile } from 'node:child_process';
import { SealedError } from '../errors';

/** Options of a program run for keys. */
export interface CommandOptions {
  /** Milliseconds the program may take before it is killed. Default: `10000`. */
  timeoutMs?: number;
  /** The program's environment. Default: this process's. */
  env?: NodeJS.ProcessEnv;
}

/** Keys and wrapped keys are small: a program that prints more is not printing one. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * Checks `argv` and `timeoutMs` where they enter (`SEALED_CONFIG` naming `who`), returning the
 * timeout to use.
 */
export function checkCommand(who: string, argv: unknown, options: CommandOptions): number {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string') || argv[0] === '') {
    throw new SealedError('SEALED_CONFIG', `${who} needs [program, ...arguments], a non-empty array of strings`);
  }
  const timeout = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeout) || timeout < 1) throw new SealedError('SEALED_CONFIG', `${who}: timeoutMs must be a positive integer`);
  return timeout;
}

/**
 * Runs a program without a shell, writes `input` to its stdin, and returns its stdout. Its stderr
 * is never read into errors (tools print secrets there too). Failures are `code` errors naming
 * `what` and what happened: not found, exit code, signal, timeout, too much output; never the
 * arguments, the input or the output.
 */
export function runCommand(
  what: string,
  argv: readonly string[],
  timeout: number,
  options: CommandOptions & { input?: string },
  code: 'SEALED_INVALID_KEY' | 'SEALED_KEY_STORE',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', env: options.env ?? process.env, windowsHide: true },
      (error, stdout) => (error ? reject(new SealedError(code, `${what} ${failure(error, timeout)}; its output is not shown`)) : resolve(stdout)),
    );
    // a program that exits without reading its input closes the pipe: that is its business
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

/** What went wrong with the program, from the error execFile gives (its message quotes the command line). */
function failure(error: Error & { code?: unknown; signal?: unknown; killed?: boolean }, timeout: number): string {
  if (error.code === 'ENOENT') return 'was not found (is the program installed and on PATH?)';
  if (error.code === 'EACCES') return 'cannot be run (permission denied)';
  if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return `printed more than ${MAX_OUTPUT_BYTES} bytes`;
  if (error.killed && error.signal === 'SIGKILL') return `did not finish within ${timeout} ms and was killed`;
  if (typeof error.code === 'number') return `exited with code ${error.code}`;
  if (typeof error.signal === 'string') return `was killed by ${error.signal}`;
  return 'failed';
}
