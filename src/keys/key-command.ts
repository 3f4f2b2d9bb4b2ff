import { execFile } from 'node:child_process';
import { SealedError } from '../errors';
import { parseRing, type KeyRing } from './key-ring';

/** Options of {@link keyRingFromCommand}. */
export interface KeyCommandOptions {
  /** Milliseconds the program may take before it is killed. Default: `10000`. */
  timeoutMs?: number;
  /** The program's environment. Default: this process's. */
  env?: NodeJS.ProcessEnv;
}

/** A key ring is a handful of keys: a program that prints more is not printing one. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * Runs a program that prints the key ring on stdout, in the {@link KeyRing.fromString} format:
 * how a secret manager, a cloud KMS command line or an HSM tool plugs in without an SDK (RavenDB
 * takes its master key the same way). The program runs without a shell (`argv[0]` and its
 * arguments as given), with a timeout. Its stderr is never read into errors (tools print secrets
 * there too). Failures are `SEALED_INVALID_KEY` naming what happened: not found, exit code,
 * signal, timeout, too much output, output that does not parse; never the arguments or the output.
 *
 * @example
 * ```ts
 * const keys = await keyRingFromCommand(['vault', 'kv', 'get', '-field=keys', 'secret/typeorm-sealed']);
 * const keys2 = await keyRingFromCommand(['aws', 'secretsmanager', 'get-secret-value', '--secret-id', 'sealed-keys', '--query', 'SecretString', '--output', 'text']);
 * ```
 */
export function keyRingFromCommand(argv: readonly string[], options: KeyCommandOptions = {}): Promise<KeyRing> {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string') || argv[0] === '') {
    return Promise.reject(new SealedError('SEALED_CONFIG', 'keyRingFromCommand needs [program, ...arguments], a non-empty array of strings'));
  }
  const timeout = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeout) || timeout < 1)
    return Promise.reject(new SealedError('SEALED_CONFIG', 'keyRingFromCommand: timeoutMs must be a positive integer'));
  return new Promise((resolve, reject) => {
    execFile(
      argv[0]!,
      argv.slice(1),
      { timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', env: options.env ?? process.env, windowsHide: true },
      (error, stdout) => {
        if (error) return reject(new SealedError('SEALED_INVALID_KEY', `the key command ${failure(error, timeout)}; its output is not shown`));
        try {
          resolve(parseRing(stdout, 'the key command output'));
        } catch (e) {
          reject(e as Error);
        }
      },
    );
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
