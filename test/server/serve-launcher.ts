/** Runs the CLI in a child process for the signal tests: `node --import tsx serve-launcher.ts serve -c DIR`. */
import { main } from '../../src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`launcher: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
