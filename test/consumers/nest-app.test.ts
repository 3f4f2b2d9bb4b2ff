// examples/nest-app as a user runs it: installed with the packed typeorm-sealed (NestJS 12 in an
// ES module project, TypeORM 0.3, PostgreSQL), compiled with tsc, started, and driven over HTTP;
// then the CLI runs against the same configuration (`-d dist/app.module.js`, keys from its .env)
// to count and rotate. CommonJS Nest modules are covered by test/cli (NestJS 11).
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { generateKey, keyIdOf } from 'typeorm-sealed';
import { testDialects } from '../integration/support/dialects';
import { installConsumer, type ConsumerProject } from './support/consumer-project';

const EXAMPLE = join(__dirname, '..', '..', 'examples', 'nest-app');
const DATABASE = `sealed_nest_example${process.env.SEALED_TEST_RUN ? `_${process.env.SEALED_TEST_RUN.replace(/[^a-z0-9]/gi, '')}` : ''}`;

/** Runs `work` on a connection to a PostgreSQL database (the server the integration tests use). */
async function postgres<T>(database: string, work: (connection: DataSource) => Promise<T>): Promise<T> {
  const connection = await new DataSource({ type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database }).initialize();
  try {
    return await work(connection);
  } finally {
    await connection.destroy();
  }
}

/** Starts `node dist/main.js` on a free port; resolves once it prints where it listens (within 60 s). */
function startApp(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => void stop().then(() => reject(new Error(`the app did not listen within 60 s:\n${output}`))), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (!url) return;
      clearTimeout(timer);
      resolve({ url, stop });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the app exited:\n${output}`));
    });
  });
}

async function http(method: 'GET' | 'POST', url: string, body?: object): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, { method, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: response.status, json: await response.json() };
}

const onPostgres = testDialects().includes('postgres') ? describe : describe.skip;

onPostgres('examples/nest-app (NestJS 12, ES modules, TypeORM 0.3, PostgreSQL) installed from the packed tarball', () => {
  let project: ConsumerProject | undefined;
  const [oldKey, newKey, indexKey] = [generateKey(), generateKey(), generateKey()];
  const writeEnv = (keys: string) =>
    writeFileSync(
      join(project!.dir, '.env'),
      `DATABASE_URL=postgres://postgres@127.0.0.1:5432/${DATABASE}\nTYPEORM_SEALED_KEYS=${keys}\nTYPEORM_SEALED_INDEX_KEYS_FILE=./sealed-index-keys\n`,
    );

  beforeAll(async () => {
    await postgres('test', async (connection) => {
      await connection.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
      await connection.query(`CREATE DATABASE ${DATABASE}`);
    });
    project = await installConsumer(EXAMPLE);
    const build = await project.run('npm', ['run', 'build', '--silent'], { timeoutMs: 180_000 });
    expect(build).toEqual({ code: 0, stdout: '', stderr: '' });
    writeFileSync(join(project.dir, 'sealed-index-keys'), `${indexKey}\n`);
    chmodSync(join(project.dir, 'sealed-index-keys'), 0o600);
  }, 600_000);

  afterAll(async () => {
    project?.remove();
    await postgres('test', (connection) => connection.query(`DROP DATABASE IF EXISTS ${DATABASE}`));
  }, 60_000);

  it('seals e-mail addresses, finds them by address over HTTP, and the CLI rotates them with the app configuration', async () => {
    writeEnv(oldKey);
    let app = await startApp(project!.dir);
    try {
      expect(await http('POST', `${app.url}/users`, { name: 'Ada', email: 'Ada@Example.com' })).toMatchObject({ status: 201, json: { id: 1 } });
      expect(await http('POST', `${app.url}/users`, { name: 'Alan', email: 'alan@example.com' })).toMatchObject({ status: 201, json: { id: 2 } });
      expect((await http('POST', `${app.url}/users`, { name: 'Eve', email: ' ADA@example.COM' })).status).toBe(409); // the unique blind index
      expect(await http('GET', `${app.url}/users/1`)).toEqual({ status: 200, json: { id: 1, name: 'Ada', email: 'Ada@Example.com' } });
      expect(await http('GET', `${app.url}/users?email=${encodeURIComponent(' ada@EXAMPLE.com')}`)).toEqual({
        status: 200,
        json: [{ id: 1, name: 'Ada', email: 'Ada@Example.com' }],
      });
      expect(await http('GET', `${app.url}/users?email=nobody@example.com`)).toEqual({ status: 200, json: [] });
    } finally {
      await app.stop();
    }
    const stored = () => postgres(DATABASE, (connection): Promise<{ email: string }[]> => connection.query('SELECT * FROM users ORDER BY id'));
    const atRest = await stored();
    expect(atRest).toHaveLength(2);
    expect(JSON.stringify(atRest)).not.toMatch(/example\.com/i);
    for (const row of atRest) expect(row.email).toMatch(new RegExp(`^sealed:1:x:${keyIdOf(oldKey)}:`));

    // The CLI starts AppModule without HTTP: its ConfigModule reads .env, so no variable is passed.
    const census = await project!.run('npx', ['--no', 'typeorm-sealed', 'census', '--json', '-d', 'dist/app.module.js'], { timeoutMs: 120_000 });
    expect(census).toMatchObject({ code: 0, stderr: '' }); // Nest's start-up lines stay out
    expect(JSON.parse(census.stdout)).toMatchObject({ activeKeyId: keyIdOf(oldKey), columns: [{ entity: 'User', column: 'email', total: 2 }] });
    writeEnv(`${newKey},${oldKey}`);
    const rotate = await project!.run('npx', ['--no', 'typeorm-sealed', 'rotate', '--json', '-d', 'dist/app.module.js'], { timeoutMs: 120_000 });
    expect(rotate.code).toBe(0);
    expect(JSON.parse(rotate.stdout)).toMatchObject({ mode: 'rotate', status: 'complete', activeKeyId: keyIdOf(newKey) });
    expect((await stored()).map((row) => row.email.slice(0, 20))).toEqual(Array(2).fill(`sealed:1:x:${keyIdOf(newKey)}:`));

    app = await startApp(project!.dir);
    try {
      expect(await http('GET', `${app.url}/users?email=ALAN@example.com`)).toEqual({ status: 200, json: [{ id: 2, name: 'Alan', email: 'alan@example.com' }] });
    } finally {
      await app.stop();
    }
  }, 180_000);
});
