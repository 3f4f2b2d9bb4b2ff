// TypeORM's own loggers, wrapped by redactingLogger, on every path that sends a value of an
// encrypted field to SQL: no plaintext, envelope or blind index value reaches their output, and
// the other parameters still do.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { format, inspect, stripVTControlCharacters } from 'node:util';
import {
  AdvancedConsoleLogger,
  FileLogger,
  FormattedConsoleLogger,
  In,
  SimpleConsoleLogger,
  type DataSource,
  type Logger,
  type LoggerOptions,
  type Repository,
} from 'typeorm';
import { generateKey, KeyRing, redactingLogger, sealedRepository, sealedSubscriber } from 'typeorm-sealed';
import { openDataSource, testDialects, type Dialect } from './support/dialects';
import { Note, User } from './support/entities';
import { Account } from './support/indexed-entities';

const keys = new KeyRing({ active: generateKey() });
const indexKeys = new KeyRing({ active: generateKey() });
/** Every TypeORM log level. */
const ALL: LoggerOptions = 'all';

/** A plaintext value of an encrypted field: none may reach a log. */
const secret = (n: number) => `plaintext${n}marker`;
const LEAKS: readonly [string, RegExp][] = [
  ['plaintext', /plaintext\d+marker/],
  ['an envelope', /sealed:1:/],
  ['a blind index value', /[0-9a-f]{8}:[0-9a-f]{32}/],
];

/** A logger, and what it wrote. */
interface Capture {
  logger: Logger;
  output(): string;
  done(): void;
}

/** TypeORM's console loggers write with console.log/info/warn/error: what they print, as a terminal would show it. */
function consoleCapture(logger: Logger): Capture {
  const lines: string[] = [];
  const spies = (['log', 'info', 'warn', 'error'] as const).map((method) =>
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(format(...args))),
  );
  return { logger, output: () => lines.join('\n'), done: () => spies.forEach((spy) => spy.mockRestore()) };
}

function fileCapture(): Capture {
  const dir = mkdtempSync(join(tmpdir(), 'sealed-log-'));
  const file = join(dir, 'typeorm.log');
  // TypeORM 0.3 writes below the application's root (here the working directory), 1.x where the path says
  return {
    logger: new FileLogger(ALL, { logPath: relative(process.cwd(), file) }),
    output: () => readFileSync(file, 'utf8'),
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An application's own logger, which keeps every argument whole (error objects with all their properties). */
function customCapture(): Capture {
  const lines: string[] = [];
  // the last argument, the query runner, is left out: it holds the whole DataSource
  const keep =
    (method: string) =>
    (...args: unknown[]) =>
      void lines.push(inspect([method, ...args.slice(0, -1)], { depth: 6, showHidden: true }));
  const logger = {
    logQuery: keep('logQuery'),
    logQueryError: keep('logQueryError'),
    logQuerySlow: keep('logQuerySlow'),
    logSchemaBuild: keep('logSchemaBuild'),
    logMigration: keep('logMigration'),
    log: keep('log'),
  };
  return { logger, output: () => lines.join('\n'), done: () => undefined };
}

const LOGGERS: readonly [string, () => Capture][] = [
  ['simple-console', () => consoleCapture(new SimpleConsoleLogger(ALL))],
  ['advanced-console', () => consoleCapture(new AdvancedConsoleLogger(ALL))],
  ['formatted-console', () => consoleCapture(new FormattedConsoleLogger(ALL))],
  ['file', fileCapture],
  ['a custom Logger', customCapture],
];

/**
 * Runs every statement that carries a value of an encrypted field, refused or not. Statements run
 * with `maxQueryExecutionTime: -1`, so each is logged as slow too.
 */
async function sendSecrets(ds: DataSource, dialect: Dialect): Promise<void> {
  const p = (n: number) => (dialect === 'postgres' ? `$${n}` : '?');
  const q = (name: string) => ds.driver.escape(name);
  const accounts: Repository<Account> = ds.getRepository(Account);
  const users: Repository<User> = ds.getRepository(User);
  const refused = { code: 'SEALED_UNSUPPORTED_QUERY' };

  await accounts.save({ login: 'visible-a1', email: secret(1), backupEmail: secret(2), contact: { phone: secret(3) }, apiToken: secret(4) });
  await accounts.insert({ login: 'visible-a2', email: secret(5), contact: { phone: null } });
  await accounts.update({ login: 'visible-a2' }, { email: secret(6) });
  await accounts.upsert({ login: 'visible-a3', email: secret(7) }, ['login']);
  await expect(accounts.findOneBy({ email: secret(8) })).rejects.toMatchObject(refused);
  await expect(users.findBy({ email: In([secret(9), secret(10)]) })).rejects.toMatchObject(refused);
  await expect(
    accounts
      .createQueryBuilder('a')
      .where('a.login = :l AND a.email = :e', { l: 'visible-qb', e: secret(11) })
      .getMany(),
  ).rejects.toMatchObject(refused);

  const sealed = sealedRepository(accounts);
  expect((await sealed.findOneBy({ email: ` ${secret(1).toUpperCase()}` }))?.login).toBe('visible-a1');
  expect((await sealed.findBy({ email: In([secret(1), secret(12)]) })).map((a) => a.login)).toEqual(['visible-a1']);
  expect(await sealed.countBy({ login: 'visible-a1', contact: { phone: secret(3) } })).toBe(1);

  // writes that bypass the subscriber, and hand-written SQL, send plaintext
  await ds
    .createQueryBuilder()
    .insert()
    .into(User)
    .values({ login: 'visible-u1', email: secret(13) })
    .callListeners(false)
    .execute();
  await ds.query(`INSERT INTO ${q('sealed_user')} (login, email) VALUES (${p(1)}, ${p(2)})`, ['visible-raw', secret(14)]);
  await ds.query(`UPDATE ${q('sealed_user')} SET email = ${p(1)} WHERE login = ${p(2)}`, [secret(15), 'visible-raw']);

  // failed statements: PostgreSQL's detail and MySQL/MariaDB's message quote the duplicate value
  await expect(accounts.insert({ login: 'visible-a4', email: secret(1) })).rejects.toThrow();
  const insertIndex = `INSERT INTO ${q('sealed_account')} (login, ${q('emailBlindIndex')}) VALUES (${p(1)}, ${p(2)})`;
  await ds.query(insertIndex, ['visible-r1', secret(16)]);
  await expect(ds.query(insertIndex, ['visible-r2', secret(16)])).rejects.toThrow();
  // a not-null violation: PostgreSQL's detail quotes the whole stored row (envelopes, index values)
  await expect(ds.query(`UPDATE ${q('sealed_account')} SET login = NULL WHERE login = ${p(1)}`, ['visible-a1'])).rejects.toThrow();
}

describe.each(testDialects())('redactingLogger on %s', (dialect) => {
  const open = (logger: Logger) =>
    openDataSource(dialect, [User, Note, Account], [sealedSubscriber({ keys, indexKeys })], ':memory:', { logger, maxQueryExecutionTime: -1 });

  describe.each(LOGGERS)('around %s', (_name, capture) => {
    let ds: DataSource;
    let log: Capture;
    beforeAll(async () => {
      log = capture();
      ds = await open(redactingLogger(log.logger));
      await sendSecrets(ds, dialect);
    });
    afterAll(async () => {
      await ds?.destroy();
      log?.done();
    });

    it.each(LEAKS)('lets no %s through', (_what, leak) => {
      expect(stripVTControlCharacters(log.output())).not.toMatch(leak);
    });

    it('shows the other parameters, failed and slow statements, and where it masked', () => {
      const output = stripVTControlCharacters(log.output());
      for (const visible of ['visible-a1', 'visible-qb', 'visible-raw', 'visible-r2', '[redacted]']) expect(output).toContain(visible);
      expect(output).toMatch(/query failed|FAILED QUERY|logQueryError/);
      expect(output).toMatch(/query is slow|SLOW QUERY|logQuerySlow/);
    });
  });

  it('is what keeps them out: the same statements through the bare logger leak each', async () => {
    const log = customCapture();
    const ds = await open(log.logger);
    try {
      await sendSecrets(ds, dialect);
      for (const [, leak] of LEAKS) expect(log.output()).toMatch(leak);
    } finally {
      await ds.destroy();
    }
  });
});
