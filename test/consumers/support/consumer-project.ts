// A consumer project, as a user would have one: a template from test/consumers/projects/<name>
// copied to a fresh directory, with the packed typeorm-sealed tarball (built and packed by
// test/global-setup.js) and the template's own dependencies installed from the registry.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** The tarball `npm pack` made of this checkout before the tests ran. */
export const TARBALL = join(ROOT, 'build', 'pack', 'typeorm-sealed.tgz');

/** What a command printed, and how it ended. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ConsumerProject {
  /** Where the project lives. */
  readonly dir: string;
  /** Runs a command in the project (no shell), with `env` added to this process's environment. */
  run(command: string, args: string[], options?: { env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  /** Deletes the project. */
  remove(): void;
}

/** Runs a command without a shell; never rejects (a failure is in `code` and `stderr`). */
export function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 300_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The result of a command that had to succeed; throws with what it printed when it did not. */
export function succeeded(result: RunResult, command: string): RunResult {
  if (result.code !== 0) throw new Error(`${command} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/**
 * Copies the template `test/consumers/projects/<template>` (or any directory given as an
 * absolute path, such as an example app) to a new directory and installs it with the packed
 * typeorm-sealed as a `file:` dependency. Throws with npm's output when the install fails.
 */
export async function installConsumer(template: string): Promise<ConsumerProject> {
  const source = template.startsWith('/') ? template : join(ROOT, 'test', 'consumers', 'projects', template);
  const dir = mkdtempSync(join(tmpdir(), `sealed-consumer-${template.split('/').pop()}-`));
  cpSync(source, dir, { recursive: true, filter: (path) => !/[\\/](node_modules|dist|package-lock\.json)$/.test(path) });
  const manifestPath = join(dir, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { dependencies?: Record<string, string> };
  manifest.dependencies = { ...manifest.dependencies, 'typeorm-sealed': `file:${TARBALL}` };
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  if (install.code !== 0) throw new Error(`npm install failed in ${dir} (exit ${install.code}):\n${install.stdout}\n${install.stderr}`);
  return {
    dir,
    run: (command, args, options = {}) => run(command, args, dir, options.env, options.timeoutMs),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
