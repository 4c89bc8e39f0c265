/**
 * What every queue tool needs: the configuration (`-c DIR`, else `$MAIL_CONFIG`, else
 * /etc/postfix) and the queue under its `queue_directory`. Fatal errors are reported as
 * `TOOL: fatal: text` with exit status 1, as Postfix tools do.
 */
import { loadConfig } from '../../config/index.js';
import type { Config } from '../../config/types.js';
import { FileQueue } from '../queue/store.js';
import type { CliIO } from '../../cli/io.js';

/** A fatal tool error (printed as `tool: fatal: message`). */
export class ToolFatal extends Error {
  constructor(message: string, readonly status = 1) {
    super(message);
  }
}

export interface ToolContext {
  config: Config;
  queue: FileQueue;
}

/** Load the configuration and open the queue. */
export function toolContext(io: CliIO, configDir: string | undefined): ToolContext {
  const dir = configDir ?? io.env.MAIL_CONFIG ?? '/etc/postfix';
  let config: Config;
  try {
    config = loadConfig({ configDir: dir });
  } catch (e) {
    throw new ToolFatal((e as Error).message);
  }
  return { config, queue: new FileQueue(config.get('queue_directory'), config) };
}

/** Run a tool body, turning ToolFatal (and unexpected errors) into Postfix-style output. */
export async function runTool(tool: string, io: CliIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof ToolFatal) {
      io.stderr(`${tool}: fatal: ${e.message}\n`);
      return e.status;
    }
    io.stderr(`${tool}: fatal: ${(e as Error).message}\n`);
    return 1;
  }
}
