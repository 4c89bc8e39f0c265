/**
 * pipe(8): hand the message to an external program given in master.cf
 * (`pipe flags=… user=name[:group] argv=program args…`). `$sender`, `$recipient`,
 * `$original_recipient`, `$user`, `$extension`, `$domain`, `$mailbox`, `$nexthop`, `$size`,
 * `$queue_id` (also `${name}`) are expanded in argv; an argument containing a recipient macro
 * is repeated once per recipient. Flags: `F` From_ line, `R` Return-Path:, `O` X-Original-To:,
 * `D` Delivered-To:, `.` dot-stuffing, `>` From_ quoting, `h`/`u` fold domain/user to lower case.
 * Exit status through the sysexits table as for local(8) commands; success is logged as
 * `delivered via SERVICE service`. Parameters: <service>_time_limit (default
 * command_time_limit), recipient_delimiter.
 */
import type { Config } from '../../config/types.js';
import { quote822Local } from '../../address/quote.js';
import { RecipientDelimiter } from '../../address/extension.js';
import type { DeliveryAgent, DeliveryRequest, RecipientStatus } from './types.js';
import { deliveryHeaders, fromLine, quoteFromLines } from './mailbox.js';
import { runCommand } from './command.js';
import type { Getpwnam } from './passwd.js';
import { passwdFile } from './passwd.js';

/** A pipe(8) service's master.cf command-line attributes. */
export interface PipeSpec {
  /** The `flags=` letters (`F`, `R`, `O`, `D`, `.`, `>`, `h`, `u`); `''` when not given. */
  flags: string;
  /** The `user=` the command runs as (must exist and not be root). */
  user: string;
  /** The `:group` of `user=name:group`; used as gid when numeric, else the user's login gid. */
  group?: string;
  /** The `argv=` command line (program and arguments, `$macros` not yet expanded). */
  argv: string[];
}

/** Parse the master.cf arguments of a pipe service. */
export function parsePipeArgs(args: readonly string[]): PipeSpec | {
  /** Why the arguments are unusable (`missing user= command-line attribute`…). */
  error: string;
} {
  let flags = '';
  let user: string | undefined;
  let group: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('flags=')) flags = a.slice(6);
    else if (a.startsWith('user=')) [user, group] = a.slice(5).split(':') as [string, string | undefined];
    else if (a.startsWith('argv=')) {
      const argv = [a.slice(5), ...args.slice(i + 1)].filter((x) => x !== '');
      if (!user) return { error: 'missing user= command-line attribute' };
      if (argv.length === 0) return { error: 'missing argv= command-line attribute' };
      const spec: PipeSpec = { flags, user, argv };
      if (group !== undefined) spec.group = group;
      return spec;
    }
  }
  return { error: 'missing argv= command-line attribute' };
}

const RCPT_MACROS = ['recipient', 'original_recipient', 'user', 'extension', 'domain', 'mailbox'];

/** The pipe(8) delivery agent of one master.cf service. */
export class PipeAgent implements DeliveryAgent {
  private readonly getpwnam: Getpwnam;
  constructor(private readonly config: Config, private readonly service: string, private readonly spec: PipeSpec, getpwnam?: Getpwnam) {
    this.getpwnam = getpwnam ?? passwdFile();
  }

  /** Run the command once for the whole batch (recipient macros repeat per recipient); its exit status applies to all. */
  async deliver(req: DeliveryRequest): Promise<RecipientStatus[]> {
    const f = this.spec.flags;
    const pw = this.getpwnam(this.spec.user);
    const fail = (status: 'deferred' | 'bounced', dsn: string, text: string) => req.recipients.map((): RecipientStatus => ({ status, dsn, text, relay: this.service, diagnosticType: 'x-unix' }));
    if (!pw || pw.uid === 0) return fail('deferred', '4.3.5', `mail system configuration error: user= ${this.spec.user} ${pw ? 'is root' : 'unknown'}`);
    const gid = this.spec.group !== undefined ? Number(this.spec.group) || pw.gid : pw.gid;
    const delim = new RecipientDelimiter(this.config.get('recipient_delimiter'));
    const fold = (a: string) => {
      const at = a.lastIndexOf('@');
      let user = at < 0 ? a : a.slice(0, at);
      let dom = at < 0 ? '' : a.slice(at + 1);
      if (f.includes('u')) user = user.toLowerCase();
      if (f.includes('h')) dom = dom.toLowerCase();
      return at < 0 ? user : `${user}@${dom}`;
    };
    const perRcpt = req.recipients.map((r) => {
      const rcpt = fold(r.address);
      const at = rcpt.lastIndexOf('@');
      const mailbox = at < 0 ? rcpt : rcpt.slice(0, at);
      const split = delim.split(mailbox);
      return {
        recipient: rcpt, original_recipient: r.original || r.address, mailbox, domain: at < 0 ? '' : rcpt.slice(at + 1),
        user: split ? split.user : mailbox, extension: split ? split.extension.slice(1) : '',
      } as Record<string, string>;
    });
    const globals: Record<string, string> = {
      sender: req.sender, nexthop: req.nexthop, size: String(req.content.length), queue_id: req.queueId,
      client_address: req.attributes.clientAddress ?? '', client_hostname: req.attributes.clientName ?? '', client_helo: req.attributes.helo ?? '',
      client_protocol: req.attributes.protocol ?? '', sasl_username: req.attributes.saslUsername ?? '',
    };
    const expand = (arg: string, vars: Record<string, string>) =>
      arg.replace(/\$(\{([a-z_]+)\}|([a-z_]+))/g, (m, _b, n1, n2) => {
        const n = (n1 ?? n2) as string;
        return n in vars ? vars[n]! : m;
      });
    const argv: string[] = [];
    for (const arg of this.spec.argv) {
      if (RCPT_MACROS.some((m) => arg.includes(`$${m}`) || arg.includes(`\${${m}}`))) {
        for (const v of perRcpt) argv.push(expand(arg, { ...globals, ...v }));
      } else argv.push(expand(arg, globals));
    }
    if (req.verify) return req.recipients.map((): RecipientStatus => ({ status: 'sent', dsn: '2.0.0', text: `delivers to command: ${argv[0]}`, relay: this.service }));
    let head = '';
    if (f.includes('F')) head += fromLine(req.sender === '' ? '' : quote822Local(req.sender), new Date());
    const env = {
      sender: req.sender === '' ? '' : quote822Local(req.sender),
      ...(f.includes('O') ? { originalTo: quote822Local(req.recipients[0]!.original || req.recipients[0]!.address) } : {}),
      ...(f.includes('D') ? { deliveredTo: quote822Local(req.recipients[0]!.address) } : {}),
    };
    head += f.includes('R') ? deliveryHeaders(env) : deliveryHeaders(env).replace(/^Return-Path:.*\n/, '');
    let body = req.content;
    if (f.includes('>')) body = quoteFromLines(body);
    if (f.includes('.')) body = Buffer.from(body.toString('latin1').replace(/^\./gm, '..'), 'latin1');
    const limit = this.config.get(`${this.service}_time_limit`) ? this.config.time(`${this.service}_time_limit`) : this.config.time('command_time_limit') || 1000;
    // argv is exec'd directly (no shell), as pipe(8) does.
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const res = await runCommand(quoted, Buffer.concat([Buffer.from(head), body]), { uid: pw.uid, gid, env: { PATH: '/usr/bin:/bin' }, cwd: '/', timeLimit: limit });
    const text = res.status === 'sent' ? `delivered via ${this.service} service` : res.text.replace(quoted, argv[0]!);
    return req.recipients.map(() => {
      const st: RecipientStatus = { status: res.status, dsn: res.dsn, text, relay: this.service };
      if (res.status !== 'sent') st.diagnosticType = 'x-unix';
      return st;
    });
  }
}
