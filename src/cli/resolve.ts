/**
 * `readdress resolve`: route addresses as Postfix's trivial-rewrite "resolve" request does.
 *
 *   readdress resolve [-c DIR] [-o name=value]... [--sender ADDR] [--internal] [--json] [ADDRESS...]
 *
 * Addresses (and `--sender`) are in external (RFC 822 quoted) form, as users write them and as
 * `readdress rewrite` takes them: `"tom@x"@example.com` is the local part `tom@x` at
 * example.com. They are unquoted to the internal form that Postfix's resolve request carries;
 * the RECIPIENT field is quoted back. With `--internal`, input and RECIPIENT are in internal
 * (unquoted) form, exactly what queue manager and smtpd exchange with trivial-rewrite.
 * `--sender` (default: the null sender, also written `<>`) feeds the sender-dependent tables.
 * Output: one line per address with tab-separated fields
 *
 *   TRANSPORT <TAB> NEXTHOP <TAB> RECIPIENT <TAB> FLAGS
 *
 * where TRANSPORT/NEXTHOP are `-` when unset (bad syntax or failure), and FLAGS is
 * `class=local|alias|virtual|relay|default` followed by `,routed`, `,error` (bad address
 * syntax: qmgr bounces it with 5.1.3) and `,fail` (temporary failure, reason on stderr).
 * With no ADDRESS (or `-`) addresses are read from stdin, one per line, and each line is
 * prefixed with `ADDRESS<TAB>`. `--json` prints a JSON array of the full results.
 * Postfix's helpful warnings ("do not list domain … in BOTH …") go to stderr.
 * Exit status: 0, or 75 (EX_TEMPFAIL) when any address failed, 1 on configuration errors.
 *
 * Parameters: everything resolve reads (see src/route/resolve.ts), including `transport_maps`
 * and `relocated_maps` as Postfix's trivial-rewrite applies them, from -c DIR, else
 * $MAIL_CONFIG, else /etc/postfix.
 */
import { quote822Local, unquote822Local } from '../address/quote.js';
import { ReaddressError } from '../errors.js';
import { resolveAddressAsync, resolveFlagNames, resolveParamsFromConfig, ResolveFlags, type ResolveResult } from '../route/resolve.js';
import type { Command } from './io.js';
import { loadRouteConfig, parseRouteArgs, readStdinLines } from './rewrite.js';

const USAGE = 'usage: readdress resolve [-c config_dir] [-o name=value]... [--sender address] [--internal] [--json] [address...]\n';

function flagsText(r: ResolveResult): string {
  const parts = [`class=${r.addressClass ?? '-'}`];
  if (r.flags & ResolveFlags.ROUTED) parts.push('routed');
  if (r.flags & ResolveFlags.ERROR) parts.push('error');
  if (r.flags & ResolveFlags.FAIL) parts.push('fail');
  return parts.join(',');
}

export const run: Command = async (args, io) => {
  const a = parseRouteArgs('resolve', USAGE, args, io, ['--sender', '--internal']);
  if (typeof a === 'number') return a;
  let results: { input: string; r: ResolveResult }[];
  try {
    const p = await resolveParamsFromConfig(loadRouteConfig(a, io), { withMaps: true });
    const inputs = a.stdin ? await readStdinLines(io) : a.addresses;
    results = [];
    const internal = (s: string): string => (a.internal ? s : unquote822Local(s));
    const sender = internal(a.sender);
    for (const input of inputs) results.push({ input, r: await resolveAddressAsync(p, internal(input), sender) });
  } catch (e) {
    if (e instanceof ReaddressError) { io.stderr(`readdress resolve: fatal: ${e.message}\n`); return 1; }
    throw e;
  }
  let failed = false;
  for (const { input, r } of results) {
    for (const w of r.warnings ?? []) io.stderr(`readdress resolve: warning: ${w}\n`);
    if (r.failure !== undefined) io.stderr(`readdress resolve: warning: ${input}: ${r.failure}\n`);
    if (r.flags & ResolveFlags.FAIL) failed = true;
  }
  if (a.json) {
    io.stdout(JSON.stringify(results.map(({ input, r }) => ({ input, ...r, flagNames: resolveFlagNames(r.flags) })), null, 1) + '\n');
  } else {
    for (const { input, r } of results) {
      const rcpt = a.internal || r.recipient === '' ? r.recipient : quote822Local(r.recipient);
      const line = `${r.transport ?? '-'}\t${r.nexthop ?? '-'}\t${rcpt}\t${flagsText(r)}\n`;
      io.stdout(a.stdin ? `${input}\t${line}` : line);
    }
  }
  return failed ? 75 : 0;
};
