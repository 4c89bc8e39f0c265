/**
 * Run a readdress CLI command from the sources in a real process (tests that need one):
 * `node --import tsx test/helpers/cli.ts serve -c DIR`.
 */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
