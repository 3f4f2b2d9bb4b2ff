import { parseArgs as parseNodeArgs } from 'node:util';

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

type BooleanField = { [K in keyof CliArgs]-?: CliArgs[K] extends boolean ? K : never }[keyof CliArgs];
type TextField = 'dataSource' | 'keysEnv' | 'indexKeysEnv' | 'scope' | 'entities' | 'envFile';
type CountField = 'batchSize' | 'maxFailures';

/** Every option: its field in CliArgs, and whether it takes a value (and what kind). */
const OPTIONS: Record<string, { short?: string; boolean: BooleanField } | { short?: string; text: TextField } | { count: CountField }> = {
  help: { short: 'h', boolean: 'help' },
  version: { boolean: 'version' },
  'dry-run': { boolean: 'dryRun' },
  'continue-on-error': { boolean: 'continueOnError' },
  json: { boolean: 'json' },
  quiet: { boolean: 'quiet' },
  yes: { boolean: 'yes' },
  recompute: { boolean: 'recompute' },
  activate: { boolean: 'activate' },
  'data-source': { short: 'd', text: 'dataSource' },
  // TypeORM's own CLI spells it --dataSource.
  dataSource: { text: 'dataSource' },
  entity: { text: 'entities' },
  'keys-env': { text: 'keysEnv' },
  'index-keys-env': { text: 'indexKeysEnv' },
  scope: { text: 'scope' },
  dotenv: { text: 'envFile' },
  'batch-size': { count: 'batchSize' },
  'max-failures': { count: 'maxFailures' },
};

const DATA_OPTIONS = ['data-source', 'dataSource', 'dotenv', 'json', 'help', 'version'];
const COMMON_OPTIONS = [...DATA_OPTIONS, 'entity', 'keys-env', 'index-keys-env'];
const WALK_OPTIONS = [...COMMON_OPTIONS, 'batch-size', 'continue-on-error', 'max-failures'];
/** The options each command takes: any other is refused, not ignored (`generate-key --json` would print a bare key). */
const APPLIES: Record<Command, readonly string[]> = {
  'generate-key': ['quiet', 'help', 'version'],
  census: COMMON_OPTIONS,
  verify: WALK_OPTIONS,
  rotate: [...WALK_OPTIONS, 'dry-run', 'scope'],
  'encrypt-existing': [...WALK_OPTIONS, 'dry-run'],
  reindex: [...WALK_OPTIONS, 'dry-run', 'recompute'],
  'decrypt-all': [...WALK_OPTIONS, 'dry-run', 'yes'],
  keys: [...DATA_OPTIONS, 'yes', 'activate', 'dry-run', 'scope'],
};

/**
 * Parses `argv` (without node and the script) with Node's `util.parseArgs`, in its lenient mode
 * (its own errors quote the offending argument, which may be a key pasted in the wrong place):
 * every token is checked here, and a message echoes only what looks like a command or option name.
 */
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
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(
      ([name, option]) => [name, { type: 'boolean' in option ? 'boolean' : 'string', ...('short' in option ? { short: option.short } : {}) }] as const,
    ),
  );
  const { tokens } = parseNodeArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const given: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positional(args, token.value);
    else if (token.kind === 'option') {
      option(args, token.name, token.rawName, token.inlineValue ? token.value : token.value?.startsWith('-') ? undefined : token.value);
      given.push(token.name);
    } else throw new UsageError('unexpected "--"');
  }
  const misplaced = args.command && given.find((name) => !APPLIES[args.command!].includes(name));
  if (misplaced) {
    const takes = APPLIES[args.command!].filter((name) => name !== 'dataSource' && name !== 'version');
    throw new UsageError(`--${misplaced} does not apply to ${args.command} (it takes ${takes.map((name) => `--${name}`).join(', ')})`);
  }
  return args;
}

/** `value` is undefined when none was given, or when the next argument is an option. */
function option(args: CliArgs, name: string, rawName: string, value: string | undefined): void {
  const spec = Object.hasOwn(OPTIONS, name) ? OPTIONS[name]! : undefined;
  if (spec === undefined) throw new UsageError(`unknown option ${shown(rawName)}`);
  if ('boolean' in spec) {
    if (value !== undefined) throw new UsageError(`${rawName} takes no value`);
    args[spec.boolean] = true;
    return;
  }
  if (value === undefined || value === '') throw new UsageError(`${rawName} needs a value`);
  if ('text' in spec) {
    if (spec.text === 'entities') args.entities.push(value);
    else if (args[spec.text] !== undefined) throw new UsageError(`${rawName} given twice (or with another spelling)`);
    else args[spec.text] = value;
    return;
  }
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${rawName} must be a positive integer`);
  args[spec.count] = n;
}

function positional(args: CliArgs, arg: string): void {
  if (args.command === undefined) {
    if (!(COMMANDS as readonly string[]).includes(arg)) throw new UsageError(`unknown command ${shown(arg)}; commands: ${COMMANDS.join(', ')}`);
    args.command = arg as Command;
  } else if (args.command === 'keys' && args.keyAction === undefined) {
    if (!(KEY_ACTIONS as readonly string[]).includes(arg)) throw new UsageError(`unknown keys action ${shown(arg)}; actions: ${KEY_ACTIONS.join(', ')}`);
    args.keyAction = arg as KeyAction;
  } else if ((args.keyAction === 'activate' || args.keyAction === 'shred') && args.keyId === undefined && args.scope === undefined) {
    if (!/^[0-9a-f]{8}$/.test(arg)) throw new UsageError('a data key id is 8 lowercase hex characters (as keys list prints it); the argument is not echoed');
    args.keyId = arg;
  } else {
    throw new UsageError(`unexpected argument ${shown(arg)} (arguments are not echoed unless they look like a command or option name)`);
  }
}

/**
 * An argument as it may appear in a message: lower-case words and dashes, 15 characters at most.
 * Anything else could be a key pasted by mistake (a passphrase has 16 characters or more), and is
 * not echoed.
 */
function shown(arg: string): string {
  return /^-{0,2}[a-z][a-z-]{0,14}$/.test(arg) && arg.replace(/^-+/, '').length <= 15 ? `"${arg}"` : '(not shown)';
}
