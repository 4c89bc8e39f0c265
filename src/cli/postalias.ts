/**
 * `readdress postalias` — Postfix's postalias(1): like postmap (src/cli/postmap.ts) but the
 * source is in aliases(5) syntax (`name: value, value`), `-q -` prints `key:<TAB>value`, and
 * built tables carry the `@`, `YP_LAST_MODIFIED` and `YP_MASTER_NAME` entries.
 *
 *   readdress postalias [-Nfinoprsuvw] [-c DIR] [-d KEY|-] [-q KEY|-] [TYPE:]FILE...
 */
import type { Command } from './io.js';
import { runMapTool } from './postmap.js';

/** `readdress postalias`. */
export const run: Command = (args, io) => runMapTool('postalias', args, io);
