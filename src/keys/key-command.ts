import { parseRing, type KeyRing } from './key-ring';
import { checkCommand, runCommand, type CommandOptions } from './run-command';

/** Options of {@link keyRingFromCommand}. */
export type KeyCommandOptions = CommandOptions;

/**
 * Runs a program that prints the key ring on stdout, in the {@link KeyRing.fromString} format:
 * how a secret manager, a cloud KMS command line or an HSM tool plugs in without an SDK (RavenDB
 * takes its master key the same way). The program runs without a shell (`argv[0]` and its
 * arguments as given), with a timeout (default 10 s, then SIGKILL). Its stderr is never read into errors (tools print secrets
 * there too). Failures are `SEALED_INVALID_KEY` naming what happened: not found, exit code,
 * signal, timeout, too much output, output that does not parse; never the arguments or the output.
 *
 * @example
 * ```ts
 * const keys = await keyRingFromCommand(['vault', 'kv', 'get', '-field=keys', 'secret/typeorm-sealed']);
 * const keys2 = await keyRingFromCommand(['aws', 'secretsmanager', 'get-secret-value', '--secret-id', 'sealed-keys', '--query', 'SecretString', '--output', 'text']);
 * ```
 */
export async function keyRingFromCommand(argv: readonly string[], options: KeyCommandOptions = {}): Promise<KeyRing> {
  const timeout = checkCommand('keyRingFromCommand', argv, options);
  const stdout = await runCommand('the key command', argv, timeout, options, 'SEALED_INVALID_KEY');
  return parseRing(stdout, 'the key command output');
}
