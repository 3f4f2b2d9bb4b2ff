/** The CLI's commands, as typed on the command line. */
export const COMMANDS = ['generate-key', 'census', 'verify', 'rotate', 'encrypt-existing', 'reindex', 'decrypt-all', 'keys'] as const;
export type Command = (typeof COMMANDS)[number];

/** What `keys` does to a key vault's data keys. */
export const KEY_ACTIONS = ['list', 'create', 'activate', 'rewrap', 'shred'] as const;
export type KeyAction = (typeof KEY_ACTIONS)[number];

/** Parsed command line. */
export interface CliArgs {
  command?: Command;
  help: boolean;
  version: boolean;
  dataSource?: string;
  entities: string[];
  batchSize?: number;
  maxFailures?: number;
  dryRun: boolean;
  continueOnError: boolean;
  json: boolean;
  quiet: boolean;
  yes: boolean;
  recompute: boolean;
  /** `keys create --activate`. */
  activate: boolean;
  /** `keys <action>`. */
  keyAction?: KeyAction;
  /** `keys activate|shred <key id>`. */
  keyId?: string;
  /** `--scope <scope>`: keys create/shred, rotate. */
  scope?: string;
  keysEnv?: string;
  indexKeysEnv?: string;
  /** `--dotenv <file>`: a `.env` file read into the environment before the data source file is loaded. */
  envFile?: string;
}

/** A command line that does not parse; the message says what was wrong. Exit code 2. */
export class UsageError extends Error {}

const FLAGS: Record<string, keyof CliArgs> = {
  '--help': 'help',
  '-h': 'help',
  '--version': 'version',
  '--dry-run': 'dryRun',
  '--continue-on-error': 'continueOnError',
  '--json': 'json',
  '--quiet': 'quiet',
  '--yes': 'yes',
  '--recompute': 'recompute',
  '--activate': 'activate',
};

/** Parses `argv` (without node and the script). */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = {
    help: false,
    version: false,
    entities: [],
    dryRun: false,
    continueOnError: false,
    json: false,
    quiet: false,
    yes: false,
    recompute: false,
    activate: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (FLAGS[name] !== undefined) {
      (args as unknown as Record<string, boolean>)[FLAGS[name]!] = true;
    } else if (name === '-d' || name === '--dataSource' || name === '--data-source') {
      args.dataSource = value();
    } else if (name === '--entity') {
      args.entities.push(value());
    } else if (name === '--keys-env') {
      args.keysEnv = value();
    } else if (name === '--scope') {
      args.scope = value();
    } else if (name === '--index-keys-env') {
      args.indexKeysEnv = value();
    } else if (name === '--dotenv') {
      args.envFile = value();
    } else if (name === '--batch-size' || name === '--max-failures') {
      const text = value();
      const n = Number(text);
      if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer`);
      if (name === '--batch-size') args.batchSize = n;
      else args.maxFailures = n;
    } else if (name.startsWith('-')) {
      throw new UsageError(`unknown option ${shown(name)}`);
    } else if (args.command === undefined) {
      if (!(COMMANDS as readonly string[]).includes(name)) throw new UsageError(`unknown command ${shown(name)}; commands: ${COMMANDS.join(', ')}`);
      args.command = name as Command;
    } else if (args.command === 'keys' && args.keyAction === undefined) {
      if (!(KEY_ACTIONS as readonly string[]).includes(name)) throw new UsageError(`unknown keys action ${shown(name)}; actions: ${KEY_ACTIONS.join(', ')}`);
      args.keyAction = name as KeyAction;
    } else if ((args.keyAction === 'activate' || args.keyAction === 'shred') && args.keyId === undefined && args.scope === undefined) {
      if (!/^[0-9a-f]{8}$/.test(name)) throw new UsageError('a data key id is 8 lowercase hex characters (as keys list prints it); the argument is not echoed');
      args.keyId = name;
    } else {
      throw new UsageError(`unexpected argument ${shown(name)} (arguments are not echoed unless they look like a command or option name)`);
    }
  }
  return args;
}

/**
 * An argument as it may appear in a message: short lower-case words and dashes only. Anything
 * else could be a key pasted by mistake, and is not echoed.
 */
function shown(arg: string): string {
  return /^-{0,2}[a-z][a-z-]{0,23}$/.test(arg) ? `"${arg}"` : '(not shown)';
}
