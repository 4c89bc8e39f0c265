/**
 * `readdress rewrite`: canonicalise addresses as Postfix's trivial-rewrite "rewrite" request does.
 *
 *   readdress rewrite [-c DIR] [-o name=value]... [--context local|remote] [--internal] [--json] [ADDRESS...]
 *
 * Addresses are in external (RFC 822 quoted) form, as trivial-rewrite receives them; with
 * `--internal` they are in internal (unquoted) form and the result is too (what cleanup uses).
 * Output: for addresses on the command line, one result per line, in order; with no ADDRESS
 * (or `-`), addresses are read from stdin one per line and each output line is
 * `ADDRESS<TAB>RESULT` (as `postmap -q -` prints). `--json` prints one JSON array of
 * `{input, context, result}`.
 *
 * Parameters: `myorigin`, `mydomain`, `append_at_myorigin`, `append_dot_mydomain`,
 * `swap_bangpath`, `allow_percent_hack`, `remote_header_rewrite_domain`
 * (-c DIR, else $MAIL_CONFIG, else /etc/postfix).
 */
import { loadConfig } from '../config/index.js';
import type { Config } from '../config/types.js';
import { ReaddressError } from '../errors.js';
import { rewriteAddress, rewriteExternal, rewriteParamsFromConfig, type RewriteContext } from '../route/rewrite.js';
import type { CliIO, Command } from './io.js';

/** Options shared by `readdress rewrite` and `readdress resolve`. */
export interface RouteCliArgs {
  configDir: string | undefined;
  overrides: Record<string, string>;
  json: boolean;
  context: RewriteContext;
  internal: boolean;
  /** `--sender ADDR` (resolve): the envelope sender, internal form; '' = null sender. */
  sender: string;
  addresses: string[];
  /** Read addresses from stdin. */
  stdin: boolean;
}

/**
 * Parse the common options. `extra` lists the long options this command accepts besides
 * `--json` (e.g. `--context`, `--internal`). Returns an exit code on usage errors or --help.
 */
export function parseRouteArgs(prog: string, usage: string, args: string[], io: CliIO, extra: string[]): RouteCliArgs | number {
  const a: RouteCliArgs = { configDir: undefined, overrides: {}, json: false, context: 'local', internal: false, sender: '', addresses: [], stdin: false };
  const bad = (msg: string): number => {
    io.stderr(`readdress ${prog}: ${msg}\n${usage}`);
    return 64;
  };
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') { i++; break; }
    if (arg === '-h' || arg === '--help') { io.stdout(usage); return 0; }
    if (arg === '--sender' && extra.includes('--sender')) {
      const v = args[++i];
      if (v === undefined) return bad(`option ${arg} requires an argument`);
      a.sender = v === '<>' ? '' : v;
      continue;
    }
    if (arg === '-c' || arg === '-o' || arg === '--context') {
      const v = args[++i];
      if (v === undefined) return bad(`option ${arg} requires an argument`);
      if (arg === '-c') a.configDir = v;
      else if (arg === '-o') {
        const eq = v.indexOf('=');
        if (eq <= 0) return bad(`bad -o value "${v}": expected name=value`);
        a.overrides[v.slice(0, eq).trim()] = v.slice(eq + 1).trim();
      } else {
        if (!extra.includes('--context')) return bad(`unknown option ${arg}`);
        if (v !== 'local' && v !== 'remote') return bad(`bad --context value "${v}": expected local or remote`);
        a.context = v;
      }
      continue;
    }
    if (arg === '--json') { a.json = true; continue; }
    if (arg === '--internal' && extra.includes('--internal')) { a.internal = true; continue; }
    if (arg.startsWith('-') && arg !== '-') return bad(`unknown option ${arg}`);
    break;
  }
  a.addresses = args.slice(i);
  if (a.addresses.length === 0 || (a.addresses.length === 1 && a.addresses[0] === '-')) {
    a.stdin = true;
    a.addresses = [];
  }
  return a;
}

/** Load the configuration named by -c / $MAIL_CONFIG / /etc/postfix, with -o overrides. */
export function loadRouteConfig(a: RouteCliArgs, io: CliIO): Config {
  const configDir = a.configDir ?? io.env.MAIL_CONFIG ?? '/etc/postfix';
  return loadConfig({ configDir, overrides: a.overrides });
}

/** Read non-empty lines from stdin (trailing CR removed). */
export async function readStdinLines(io: CliIO): Promise<string[]> {
  let text = '';
  for await (const chunk of io.stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '');
}

const USAGE = 'usage: readdress rewrite [-c config_dir] [-o name=value]... [--context local|remote] [--internal] [--json] [address...]\n';

export const run: Command = async (args, io) => {
  const a = parseRouteArgs('rewrite', USAGE, args, io, ['--context', '--internal']);
  if (typeof a === 'number') return a;
  let config: Config;
  try {
    config = loadRouteConfig(a, io);
  } catch (e) {
    if (e instanceof ReaddressError) { io.stderr(`readdress rewrite: fatal: ${e.message}\n`); return 1; }
    throw e;
  }
  const p = rewriteParamsFromConfig(config);
  const inputs = a.stdin ? await readStdinLines(io) : a.addresses;
  const results = inputs.map((input) => ({
    input,
    context: a.context,
    result: a.internal ? rewriteAddress(p, a.context, input) : rewriteExternal(p, a.context, input),
  }));
  if (a.json) io.stdout(JSON.stringify(results, null, 1) + '\n');
  else for (const r of results) io.stdout(a.stdin ? `${r.input}\t${r.result}\n` : `${r.result}\n`);
  return 0;
};
