import type { DataSource } from 'typeorm';
import { SealedError } from '../errors';
import { generateKey, keyIdOf } from '../keys/key-material';
import { DEFAULT_INDEX_KEYS_ENV, DEFAULT_KEYS_ENV, KeyRing } from '../keys/key-ring';
import { sealedColumnsOf } from '../metadata/column-plan';
import { skipKeyIdChecks } from '../typeorm/stored-key-check';
import { KeyRotator } from '../rotation/key-rotator';
import type { CensusReport, RotationReport } from '../rotation/report';
import { cipherSubscribersOf } from '../cipher/registry';
import { parseArgs, UsageError, type CliArgs, type Command } from './args';
import { describeForeignError } from './foreign-error';
import { formatCensus, formatReport, toJson } from './format';
import { DataSourceFileError, loadDataSource } from './load-data-source';
import { EnvFileError, loadEnvFile } from './env-file';
import { EXIT } from './exit';
import { keysUsageError, runKeys } from './keys-command';
import { progressPrinter, type ProgressStream } from './progress';

export { EXIT };

const USAGE = `Usage: typeorm-sealed <command> [options]

Commands:
  generate-key       print a new 256-bit key (base64), once
  census             count NULL, plaintext and values per key id in every encrypted column
  verify             open every value and report failures; writes nothing
  rotate             re-seal every value not under the active key with the active key
  encrypt-existing   seal legacy plaintext values under the active key (and fill blind indexes)
  reindex            fill blind indexes and move them to the active index key
  decrypt-all        write every value back as plaintext (leaving encryption; needs --yes)
  keys               list, create, activate, rewrap or shred a key vault's data keys

Run "typeorm-sealed <command> --help" for the options of a command.`;

const ENV_FILE_OPTION = `  --dotenv <file>          read this .env file (NAME=value lines) into the environment first, for
                           the data source file and the key variables; variables already set win`;
const COMMON_OPTIONS = `  -d, --dataSource <file>  file exporting the DataSource (default export or the only one), as for TypeORM's CLI,
                           or a Nest module: started without HTTP, its TypeOrmModule's default DataSource;
                           a .ts file is loaded with the project's tsx
${ENV_FILE_OPTION}
  --entity <Name>          only this entity (repeatable); default: every entity with an encrypted column
  --scope <scope>          rotate only: values under data keys of this key scope (KeyVault); refused elsewhere
  --keys-env <NAME>        read the key ring from this environment variable instead of the
                           DataSource's sealedSubscriber (default when there is none: ${DEFAULT_KEYS_ENV})
  --index-keys-env <NAME>  read the blind index key ring from this environment variable instead of
                           the sealedSubscriber's indexKeys (default when there is none:
                           ${DEFAULT_INDEX_KEYS_ENV}, if set)
  --json                   print the report as JSON on stdout
  -h, --help               this help`;
const WALK_OPTIONS = `${COMMON_OPTIONS}
  --batch-size <n>         rows per batch and transaction (default 500); memory grows with
                           batch size x value size, and rows stay locked for a batch's duration
  --continue-on-error      report values that fail and go on (default: stop at the first)
  --max-failures <n>       stop after this many failures (default 1000); failures are printed
                           grouped by column, code and reason, with a count and sample rows`;
const DRY_RUN = `  --dry-run                read and check everything, write nothing; exit 0 when a real run
                           would reach the goal ("would write" and "would remain" columns)`;
const EXIT_CODES = `Exit codes: 0 goal reached, 1 finished with values failed or remaining (see the report),
2 wrong command line, 3 could not start (nothing written), 4 stopped midway by the database
refusing a write or an unexpected error (batches so far are committed; run it again to continue).`;

const HELP: Record<Command, string> = {
  keys: `Usage: typeorm-sealed keys <action> -d <file> [options]

Manages the data keys of the KeyVault given to the DataSource's sealedSubscriber (the table
sealed_data_keys). Processes see changes when they reload the vault or restart.
  list                   every data key: id, scope, state, generation, times, wrapped by
  create [--activate] [--scope <scope>]
                         a new data key (of the default scope, or of <scope>), "ready": processes that reload open its values but do
                         not seal with it; activate it once they all have (--activate at once:
                         only when no other process runs)
  activate <key id>      make it the active key (the active one becomes "retired"); then rotate
  rewrap [--dry-run]     wrap every data key not wrapped by the vault's wrapper with it (after a
                         new master key became active, or a new wrapper): only sealed_data_keys
                         changes, no data row is rewritten
  shred <key id> --yes   destroy a data key (or every key of a scope: shred --scope <scope> --yes,
                         a tenant's erasure): every value under it becomes unreadable for good
                         (SEALED_SHREDDED); prints an erasure report (counts per column, time);
                         with --dry-run, the report of what it would make unreadable

  -d, --dataSource <file>  file exporting the DataSource, as for the other commands
${ENV_FILE_OPTION}
  --json                   print the result as JSON on stdout
  --yes                    confirm shred
  -h, --help               this help

Exit codes: 0 done, 1 rewrap left keys it could not rewrap, 2 wrong command line, 3 could not
start or refused (no key vault, unknown key id, shredding the active key), 4 unexpected error.`,
  'generate-key': `Usage: typeorm-sealed generate-key [--quiet]

Prints a new random 256-bit key as base64 on stdout, and its key id and storage advice on stderr.
The key is shown once: store it in your secret manager before using it.
  --quiet   print only the key`,
  census: `Usage: typeorm-sealed census -d <file> [options]

Counts, per encrypted column, NULL values, plaintext values, values per key id (* marks the
active key) and malformed values, with SQL on the envelope prefix; per blind index, rows without
an index value, index values per index key, distinct index values and the largest bucket (how
many rows share the most frequent index value: what the index reveals). It opens no value
(verify does) and writes nothing. It warns about columns that hold only NULL or empty values,
indexes to fill, and indexes that reveal how often a value occurs.
Exit 0 when no value is plaintext, malformed or under a key id the ring lacks, and no index value
is missing, malformed or under an index key id the index ring lacks; 1 otherwise.
Exit 0 does not mean a rotation is finished: values under an older key still in the ring count
as fine; rotate's own exit code 0 means every value is under the active key.

${COMMON_OPTIONS}`,
  verify: `Usage: typeorm-sealed verify -d <file> [options]

Opens every value of every encrypted column and reports the ones that fail (tampered, wrong key,
malformed, wrong type) and counts the plaintext ones; checks that every blind index value matches
its value (SEALED_INDEX_MISMATCH otherwise). Writes nothing.
Exit 0 when every value opens and none is plaintext, 1 otherwise.

${WALK_OPTIONS}

${EXIT_CODES}`,
  rotate: `Usage: typeorm-sealed rotate -d <file> [options]

Re-seals every value that is not under the active key with the active key. Refuses to start when
the data holds key ids the ring lacks. Safe to stop and run again; safe to run from two processes
on PostgreSQL and MySQL/MariaDB; on SQLite it runs beside a live application (give the
application a busy timeout). Plaintext values are left alone and keep it from exit 0: seal them
with encrypt-existing.

${WALK_OPTIONS}
${DRY_RUN}

${EXIT_CODES}`,
  'encrypt-existing': `Usage: typeorm-sealed encrypt-existing -d <file> [options]

Seals every legacy plaintext value (written before the column was encrypted) under the active key,
then fills the blind indexes (as reindex does). Values that start with "sealed:" but are not
envelopes are left alone and reported.

${WALK_OPTIONS}
${DRY_RUN}

${EXIT_CODES}`,
  reindex: `Usage: typeorm-sealed reindex -d <file> [options]

Computes the blind index value of every row whose index is missing (rows written before the index
was declared) or under an older index key (after a new index key was made active), and writes it
where the row's value is still the one read. Lookups find every row throughout: they match every
key of the index key ring. Safe to stop and run again. A row whose index value another row holds
under a unique index is reported (SEALED_DUPLICATE, naming that row) and left as it is; it stops
the run unless --continue-on-error is given.

${WALK_OPTIONS}
${DRY_RUN}
  --recompute              read every row and rewrite each index value that differs from its
                           value's, also stale ones under the active index key (verify reports
                           them as SEALED_INDEX_MISMATCH)

${EXIT_CODES}`,
  'decrypt-all': `Usage: typeorm-sealed decrypt-all -d <file> --yes [options]

Writes every value back as plaintext, for leaving encryption (then remove @Encrypted). Back up
the database first. A value whose plaintext starts with "sealed:" cannot be stored as plaintext
(it would read as an envelope): it stays sealed and is reported, without stopping the run.

${WALK_OPTIONS}
${DRY_RUN}
  --yes                    confirm: plaintext will be stored in the database

${EXIT_CODES}`,
};

/** Where the CLI reads and writes. */
export interface CliIO {
  stdout: ProgressStream;
  stderr: ProgressStream;
  env: NodeJS.ProcessEnv;
}

/**
 * Runs the CLI and returns its exit code.
 *
 * @example
 * ```sh
 * npx typeorm-sealed census -d dist/data-source.js
 * TYPEORM_SEALED_KEYS="<new>,<old>" npx typeorm-sealed rotate -d dist/data-source.js
 * ```
 */
export async function main(argv: readonly string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`typeorm-sealed: ${e.message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (args.version) {
    io.stdout.write(`${(require('../../package.json') as { version: string }).version}\n`);
    return EXIT.ok;
  }
  if (!args.command) {
    (args.help ? io.stdout : io.stderr).write(`${USAGE}\n`);
    return args.help ? EXIT.ok : EXIT.usage;
  }
  if (args.help) {
    io.stdout.write(`${HELP[args.command]}\n`);
    return EXIT.ok;
  }
  if (args.command === 'generate-key') return printKey(args, io);
  if (!args.dataSource) {
    io.stderr.write(`typeorm-sealed: ${args.command} needs -d <data source file>\n\n${HELP[args.command]}\n`);
    return EXIT.usage;
  }
  if (args.command === 'decrypt-all' && !args.dryRun && !args.yes) {
    io.stderr.write('typeorm-sealed: decrypt-all stores every value as plaintext; back up the database and pass --yes to confirm (or --dry-run)\n');
    return EXIT.usage;
  }
  if (args.command === 'keys') {
    const usage = keysUsageError(args);
    if (usage) {
      io.stderr.write(`typeorm-sealed: ${usage}\n\n${HELP.keys}\n`);
      return EXIT.usage;
    }
    return withDataSource(
      'keys',
      args,
      io,
      () => undefined,
      (dataSource) => runKeys(args, dataSource, io),
    );
  }
  return runWalk(args.command, args, io);
}

function printKey(args: CliArgs, io: CliIO): number {
  const key = generateKey();
  io.stdout.write(`${key}\n`);
  if (!args.quiet) {
    io.stderr.write(
      `key id: ${keyIdOf(key)}\n` +
        'Store this key in your secret manager now: it is shown once, and data sealed under a lost key cannot be recovered.\n' +
        `To rotate to it (README, "Key rotation runbook"): first deploy it as a decrypt-only key, ${DEFAULT_KEYS_ENV}="<old key>,<new key>",\n` +
        'to every instance; then make it active, "<new key>,<old key>"; then run "typeorm-sealed rotate".\n' +
        `A key for blind indexes goes in ${DEFAULT_INDEX_KEYS_ENV} instead, never in both rings (README, "Index keys").\n`,
    );
  }
  return EXIT.ok;
}

async function runWalk(command: Exclude<Command, 'generate-key' | 'keys'>, args: CliArgs, io: CliIO): Promise<number> {
  const progress = progressPrinter(io.stderr);
  return withDataSource(command, args, io, progress.end, async (dataSource) => {
    const unknown = args.entities.filter((name) => !dataSource.entityMetadatas.some((m) => m.name === name));
    if (unknown.length) {
      const known = dataSource.entityMetadatas.filter((m) => sealedColumnsOf(m).length > 0).map((m) => m.name);
      // Not echoed: a key pasted after --entity by mistake can look like a name.
      io.stderr.write(
        `typeorm-sealed: ${unknown.length === 1 ? 'the name' : `${unknown.length} of the names`} given with --entity ${unknown.length === 1 ? 'is' : 'are'} no entity ` +
          `(names are not shown, in case one was not a name); entities with encrypted columns: ${known.join(', ') || 'none'}\n`,
      );
      return EXIT.usage;
    }
    const rotator = new KeyRotator(dataSource, {
      ...keysOption(args, dataSource, io.env),
      ...(args.batchSize ? { batchSize: args.batchSize } : {}),
      ...(args.maxFailures ? { maxFailures: args.maxFailures } : {}),
      ...(args.entities.length ? { entities: args.entities } : {}),
      ...(args.scope !== undefined ? { scope: args.scope } : {}),
      dryRun: args.dryRun,
      stopOnFailure: !args.continueOnError,
      ...(args.json ? {} : { onProgress: progress.update }),
    });
    if (command === 'census') {
      const census = await rotator.census();
      io.stdout.write(args.json ? `${toJson(census)}\n` : `${formatCensus(census)}\n`);
      return censusIsClean(census) ? EXIT.ok : EXIT.incomplete;
    }
    const report = await walk(rotator, command, args);
    progress.end();
    io.stdout.write(args.json ? `${toJson(report)}\n` : `${formatReport(report)}\n`);
    return report.status === 'complete' ? EXIT.ok : EXIT.incomplete;
  });
}

/**
 * Reads `--dotenv`, loads and initializes the DataSource of `-d`, runs `work` on it and destroys
 * it; maps errors to exit codes: the .env file, the data source file, the connection and every
 * SealedError but SEALED_WRITE_FAILED are "could not start" (3), anything else "stopped midway" (4).
 */
async function withDataSource(
  command: Command,
  args: CliArgs,
  io: CliIO,
  interrupt: () => void,
  work: (dataSource: DataSource) => Promise<number>,
): Promise<number> {
  let dataSource: DataSource | undefined;
  try {
    if (args.envFile !== undefined) loadEnvFile(args.envFile, io.env);
    // The CLI works with keys of its own (--keys-env) and reports unknown key ids itself: a data
    // source with checkKeyIds must still start here, to rotate or inspect what the check refuses.
    skipKeyIdChecks();
    dataSource = await loadDataSource(args.dataSource!);
    if (!dataSource.isInitialized) {
      try {
        await dataSource.initialize();
      } catch (e) {
        io.stderr.write(
          e instanceof SealedError
            ? `typeorm-sealed: cannot initialize the DataSource: ${e.message}\n`
            : `typeorm-sealed: cannot connect to the database: ${describeForeignError(e)}\n`,
        );
        return EXIT.config;
      }
    }
    return await work(dataSource);
  } catch (e) {
    interrupt();
    // A statement the database refused mid-run (SEALED_WRITE_FAILED) stops a walk that may have
    // committed batches already: that is exit 4, not "could not start".
    if (e instanceof DataSourceFileError || e instanceof EnvFileError || (e instanceof SealedError && e.code !== 'SEALED_WRITE_FAILED')) {
      io.stderr.write(`typeorm-sealed: ${e.message}\n`);
      return EXIT.config;
    }
    io.stderr.write(
      `typeorm-sealed: ${command} stopped: ${e instanceof SealedError ? e.message : describeForeignError(e)}\n` +
        'Rows written before the error are committed and readable; run the command again to continue.\n',
    );
    return EXIT.error;
  } finally {
    if (dataSource?.isInitialized) await dataSource.destroy();
  }
}

/**
 * The rings: --keys-env, else the DataSource's sealedSubscriber, else the default variable; the
 * index ring: --index-keys-env, else the sealedSubscriber's indexKeys, else the default index
 * variable when it is set.
 */
function keysOption(args: CliArgs, dataSource: DataSource, env: NodeJS.ProcessEnv): { keys?: KeyRing; indexKeys?: KeyRing } {
  const subscriber = cipherSubscribersOf(dataSource).length > 0;
  const indexEnv = args.indexKeysEnv ?? (!subscriber && env[DEFAULT_INDEX_KEYS_ENV] ? DEFAULT_INDEX_KEYS_ENV : undefined);
  const indexKeys = indexEnv ? { indexKeys: KeyRing.fromEnv(indexEnv, env) } : {};
  if (args.keysEnv) return { keys: KeyRing.fromEnv(args.keysEnv, env), ...indexKeys };
  if (subscriber) return indexKeys;
  return { keys: KeyRing.fromEnv(DEFAULT_KEYS_ENV, env), ...indexKeys };
}

function walk(rotator: KeyRotator, command: Exclude<Command, 'generate-key' | 'census' | 'keys'>, args: CliArgs): Promise<RotationReport> {
  switch (command) {
    case 'verify':
      return rotator.verify();
    case 'rotate':
      return rotator.rotate();
    case 'encrypt-existing':
      return rotator.encryptExisting();
    case 'reindex':
      return rotator.reindex({ recompute: args.recompute });
    case 'decrypt-all':
      return rotator.decryptAll();
  }
}

function censusIsClean(census: CensusReport): boolean {
  return (
    census.columns.every((c) => c.plaintext === 0 && c.malformed === 0 && c.unknownKeyIds.length === 0) &&
    census.indexes.every((i) => i.missing === 0 && i.malformed === 0 && i.unknownKeyIds.length === 0)
  );
}
