import { SealedError } from '../errors';
import { parseKey } from '../keys/key-material';
import { checkCommand, runCommand, type CommandOptions } from '../keys/run-command';
import type { DataKeyContext, KeyWrapper } from './key-wrapper';

/** Options of {@link commandKeyWrapper}. */
export interface CommandKeyWrapperOptions extends CommandOptions {
  /** Names the wrapping in the key table (`wrapped_by` = `command:<name>`): letters, digits, `.`, `_`, `-`, at most 64. Required. */
  name: string;
  /** Program and arguments that read a data key (base64, one line) on stdin and print it wrapped. Required. */
  wrap: readonly string[];
  /** Program and arguments that read a wrapped key (one line) on stdin and print the data key in base64. Required. */
  unwrap: readonly string[];
}

/** The program's failure, naming the data key it was working on. */
async function named<T>(context: DataKeyContext, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    throw e instanceof SealedError ? e.withContext({ keyId: context.keyId }) : e;
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Printable ASCII, no spaces inside: what the key table stores and a terminal shows safely. */
const WRAPPED_TEXT = /^[\x21-\x7e]{1,8192}$/;

/**
 * Wraps data keys by running programs, one per operation: how Vault transit, a cloud KMS command
 * line or an HSM tool plugs in without an SDK. Each program runs without a shell, with a timeout
 * (default 10 s) and these variables added to its environment: `TYPEORM_SEALED_DATA_KEY_ID` and
 * `TYPEORM_SEALED_DATA_KEY_SCOPE` (bind them where the tool can, e.g. a KMS encryption context).
 * The wrap program reads the data key in base64 on stdin and prints the wrapped key (printable
 * ASCII without spaces, at most 8 KiB); the unwrap program reads that and prints the key in base64.
 * Errors name what happened (not found, exit code, timeout, output not a key), never arguments,
 * input or output; stderr is never read.
 *
 * @example
 * ```ts
 * const wrapper = commandKeyWrapper({
 *   name: 'vault-transit',
 *   // "-" makes Vault read the value from stdin: a key on the command line is visible to every local user
 *   wrap: ['vault', 'write', '-field=ciphertext', 'transit/encrypt/sealed', 'plaintext=-'],
 *   unwrap: ['vault', 'write', '-field=plaintext', 'transit/decrypt/sealed', 'ciphertext=-'],
 * });
 * const vault = new KeyVault({ wrapper });
 * ```
 */
export function commandKeyWrapper(options: CommandKeyWrapperOptions): KeyWrapper {
  if (options === null || typeof options !== 'object') throw new SealedError('SEALED_CONFIG', 'commandKeyWrapper needs { name, wrap, unwrap }');
  if (typeof options.name !== 'string' || !NAME.test(options.name)) {
    throw new SealedError('SEALED_CONFIG', 'commandKeyWrapper: name must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  const wrapTimeout = checkCommand('commandKeyWrapper wrap', options.wrap, options);
  const unwrapTimeout = checkCommand('commandKeyWrapper unwrap', options.unwrap, options);
  const wrap = [...options.wrap];
  const unwrap = [...options.unwrap];
  const wrappedBy = `command:${options.name}`;
  const envOf = (context: DataKeyContext): NodeJS.ProcessEnv => ({
    ...(options.env ?? process.env),
    TYPEORM_SEALED_DATA_KEY_ID: context.keyId,
    TYPEORM_SEALED_DATA_KEY_SCOPE: context.scope,
  });
  return Object.freeze({
    wrappedBy,
    canUnwrap: (by: string) => by === wrappedBy,
    async wrap(dataKey: Uint8Array, context: DataKeyContext): Promise<string> {
      const input = `${Buffer.from(dataKey).toString('base64')}\n`;
      const out = (await named(context, runCommand('the wrap command', wrap, wrapTimeout, { env: envOf(context), input }, 'SEALED_KEY_STORE'))).trim();
      if (!WRAPPED_TEXT.test(out)) {
        throw new SealedError(
          'SEALED_KEY_STORE',
          'the wrap command printed no wrapped key (expected printable ASCII without spaces, at most 8192 characters)',
          {
            keyId: context.keyId,
          },
        );
      }
      return out;
    },
    async unwrap(wrapped: string, context: DataKeyContext): Promise<Uint8Array> {
      // what the table holds goes to the program only if it is one line of printable ASCII
      if (typeof wrapped !== 'string' || !WRAPPED_TEXT.test(wrapped)) {
        throw new SealedError('SEALED_KEY_STORE', 'the wrapped key is not printable ASCII text of at most 8192 characters', { keyId: context.keyId });
      }
      const out = await named(
        context,
        runCommand('the unwrap command', unwrap, unwrapTimeout, { env: envOf(context), input: `${wrapped}\n` }, 'SEALED_KEY_STORE'),
      );
      try {
        return parseKey(out, 'the unwrap command output');
      } catch (e) {
        throw new SealedError('SEALED_KEY_STORE', (e as SealedError).detail, { keyId: context.keyId });
      }
    },
  });
}
