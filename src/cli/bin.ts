#!/usr/bin/env node
// The `typeorm-sealed` command. See `typeorm-sealed --help`.
import 'reflect-metadata';
import { EXIT, main } from './main';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = EXIT.error;
  },
);
