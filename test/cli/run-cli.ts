// Runs the real binary (dist/cli/bin.js, built by test/global-setup.js).
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'dist', 'cli', 'bin.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `typeorm-sealed <args>` with `env` added to this process's environment. */
export function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
