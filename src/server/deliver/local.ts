/**
 * local(8): delivery to local recipients. Per recipient: duplicate and Delivered-To loop checks,
 * `alias_maps` expansion, `~/.forward`, then the mailbox (mailbox_command, Maildir or mbox in
 * home_mailbox / mail_spool_directory), else unknown-user handling (luser_relay, bounce 5.1.1).
 * Alias and .forward results are delivered in-process when they resolve to this transport and
 * forwarded as a new message otherwise. `|command`, `/file` and `:include:` elements obey
 * allow_mail_to_commands / allow_mail_to_files.
 *
 * Parameters: alias_maps, recipient_delimiter, forward_path, home_mailbox, mail_spool_directory,
 * mailbox_transport_maps, mailbox_transport, mailbox_command_maps, mailbox_command,
 * fallback_transport_maps, fallback_transport, strict_mailbox_ownership, luser_relay, prepend_delivered_header, enable_original_recipient,
 * allow_mail_to_commands, allow_mail_to_files, default_privs, command_time_limit,
 * mailbox_size_limit, mailbox_delivery_lock, deliver_lock_attempts, deliver_lock_delay,
 * stale_lock_time, owner_request_special, duplicate_filter_limit, myorigin, mydestination.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../config/types.js';
import type { Table } from '../../maps/types.js';
import { LookupFlags } from '../../maps/types.js';
import { openTable } from '../../maps/index.js';
import { addressNodes, internalizeAddress, parseAddressList } from '../../address/tokenize.js';
import { RecipientDelimiter } from '../../address/extension.js';
import { quote822Local } from '../../address/quote.js';
import { expandMacros } from '../../config/expand.js';
import { rewriteAddress, rewriteParamsFromConfig } from '../../route/rewrite.js';
import type { QueueWriter } from '../queue/types.js';
import type { DeliveryAgent, DeliveryRecipient, DeliveryRequest, RecipientStatus } from './types.js';
import { passwdFile, type Getpwnam, type PasswdEntry } from './passwd.js';
import { appendMbox, deliverMaildir, deliveryHeaders, fromLine, type DeliveryEnvelope, type LocalResult, type Owner } from './mailbox.js';
import { runCommand } from './command.js';
import type { LockOptions } from './lock.js';

/** An alias table hit. */
export interface AliasHit {
  /** The alias value, as stored. */
  value: string;
  /** Owner of the table (commands and files run with its rights; root → default_privs). */
  owner?: Owner;
}

/** Looks up a local part in alias_maps (already folded to lower case). */
export type AliasLookup = (name: string) => Promise<AliasHit | undefined>;

/** What the local(8) agent needs besides the configuration; only `forward` is required. */
export interface LocalAgentDeps {
  /** Where forwarded copies go (cleanup, or the queue). */
  forward: QueueWriter;
  /** Is this (canonical) address delivered by this local transport? Default: domain ∈ mydestination. */
  isLocal?: (address: string) => Promise<boolean>;
  /** The `alias_maps` lookup. Default: {@link aliasMapsLookup} over the configuration. */
  aliases?: AliasLookup;
  /** The passwd lookup for recipients and `default_privs`. Default: `/etc/passwd`. */
  getpwnam?: Getpwnam;
  /** Fixed clock, for tests. */
  now?: () => Date;
  /** Warnings (logged as `local: warning: …`). */
  warn?: (text: string) => void;
  /** Informational log lines (`local: ID: passing <…> to transport=…`). */
  info?: (text: string) => void;
  /** Hand a recipient to another transport (mailbox_transport, fallback_transport). */
  pass?: (transport: string, nexthop: string, request: DeliveryRequest) => Promise<RecipientStatus[]>;
}

type Context = 'alias' | 'forward' | 'include';

/** One final delivery; `passed` when another transport made it (mailbox/fallback transport). */
type Result = LocalResult & { address: string; passed?: RecipientStatus };

interface RecipientState {
  req: DeliveryRequest;
  top: DeliveryRecipient;
  sender: string;
  /** Delivered-To addresses already in the message (lower case). */
  seenDeliveredTo: Set<string>;
  dup: Set<string>;
  expanded: Set<string>;
  /** Outcome of every final delivery, with the address delivered (logged as `to=<…>`). */
  results: Result[];
  forwards: { address: string; sender: string; ownerReset: boolean }[];
  /** Inside an owner- alias expansion (copies are forwarded with that sender, ORCPT cleared). */
  owned?: boolean;
  /** Extra Delivered-To (for forwarded copies). */
  owner?: string;
}

/** Split an alias/.forward value into its elements, in internal (unquoted) form. */
export function splitAliasValue(value: string): string[] {
  const out: string[] = [];
  // `\user` (no further aliasing): the tokenizer reads the backslash as a quoted pair and
  // drops it, so remember which bare elements were written with one.
  const escaped = new Set<string>();
  for (const m of value.matchAll(/(?:^|,)[ \t]*\\([^,\s"\\]+)/g)) escaped.add(m[1]!);
  for (const node of addressNodes(parseAddressList(value))) {
    const s = internalizeAddress(node.tokens).trim();
    if (s) out.push(escaped.has(s) ? '\\' + s : s);
  }
  return out;
}

/** Delivered-To header values of a message (lower case). */
export function deliveredToValues(content: Buffer): Set<string> {
  const end = content.indexOf('\n\n');
  const head = content.subarray(0, end < 0 ? content.length : end + 1).toString('utf8');
  const out = new Set<string>();
  for (const m of head.matchAll(/^delivered-to:[ \t]*(.*(?:\n[ \t].*)*)/gim)) out.add(m[1]!.replace(/\s+/g, '').toLowerCase());
  return out;
}

/** A failed alias table (open or lookup): local(8) defers the recipient. */
export class AliasUnavailable extends Error {}

/**
 * Default alias lookup over `alias_maps` (first table with the key wins). `nis:` tables are
 * skipped (Postfix disables NIS lookups when no NIS domain is set, as on this platform); any
 * other table that cannot be opened or read makes the lookup fail (the mail is deferred).
 */
export function aliasMapsLookup(config: Config): AliasLookup {
  let tables: Promise<{ table: Table; owner?: Owner }[]> | undefined;
  const open = async () => {
    const out: { table: Table; owner?: Owner }[] = [];
    for (const spec of config.list('alias_maps')) {
      if (/^nis:/i.test(spec)) continue;
      let table: Table;
      try {
        table = await openTable(spec, config.configDir ? { configDir: config.configDir } : {});
      } catch (e) {
        throw new AliasUnavailable(`${spec} is unavailable. ${(e as Error).message}`);
      }
      const path = spec.replace(/^[a-z0-9_]+:/i, '');
      const st = await fsp.stat(path).catch(() => fsp.stat(`${path}.db`).catch(() => undefined));
      const entry: { table: Table; owner?: Owner } = { table };
      if (st) entry.owner = { uid: st.uid, gid: st.gid };
      out.push(entry);
    }
    return out;
  };
  return async (name) => {
    tables ??= open();
    const list = await tables.catch((e: unknown) => {
      tables = undefined; // try to open again for the next message
      throw e;
    });
    for (const { table, owner } of list) {
      let v: string | undefined;
      try {
        v = await table.lookup(name, LookupFlags.FOLD_CASE);
      } catch (e) {
        throw new AliasUnavailable(`${table.name}: table lookup problem: ${(e as Error).message}`);
      }
      if (v !== undefined) return owner ? { value: v, owner } : { value: v };
    }
    return undefined;
  };
}

/** A per-user lookup table list failed (open or lookup): the recipient is deferred. */
class TableLookupFailure extends Error {}

/**
 * Lookups keyed by the recipient's user name (no extension), as local(8) does for
 * mailbox_transport_maps, mailbox_command_maps and fallback_transport_maps. Tables open on
 * first use; a failure throws {@link TableLookupFailure} after a warning.
 */
function userMaps(config: Config, param: string, warn: (t: string) => void): (user: string) => Promise<string | undefined> {
  const specs = config.list(param);
  let tables: Promise<Table[]> | undefined;
  return async (user) => {
    if (specs.length === 0) return undefined;
    tables ??= Promise.all(specs.map((spec) => openTable(spec, config.configDir ? { configDir: config.configDir } : {})));
    let list: Table[];
    try {
      list = await tables;
    } catch (e) {
      tables = undefined;
      warn(`${param}: ${(e as Error).message}`);
      throw new TableLookupFailure();
    }
    for (const t of list) {
      try {
        const v = await t.lookup(user, LookupFlags.FOLD_CASE);
        if (v !== undefined) return v;
      } catch {
        warn(`${t.name} lookup error for "${user}"`);
        throw new TableLookupFailure();
      }
    }
    return undefined;
  };
}

/** The local delivery agent. */
export class LocalAgent implements DeliveryAgent {
  private readonly mailboxTransportMaps: (user: string) => Promise<string | undefined>;
  private readonly mailboxCommandMaps: (user: string) => Promise<string | undefined>;
  private readonly fallbackTransportMaps: (user: string) => Promise<string | undefined>;
  private readonly config: Config;
  private readonly deps: LocalAgentDeps;
  private readonly getpwnam: Getpwnam;
  private readonly aliases: AliasLookup;
  private readonly delim: RecipientDelimiter;
  private readonly lock: LockOptions;

  constructor(config: Config, deps: LocalAgentDeps) {
    this.config = config;
    this.deps = deps;
    this.getpwnam = deps.getpwnam ?? passwdFile();
    this.aliases = deps.aliases ?? aliasMapsLookup(config);
    const warn = (t: string) => deps.warn?.(t);
    this.mailboxTransportMaps = userMaps(config, 'mailbox_transport_maps', warn);
    this.mailboxCommandMaps = userMaps(config, 'mailbox_command_maps', warn);
    this.fallbackTransportMaps = userMaps(config, 'fallback_transport_maps', warn);
    this.delim = new RecipientDelimiter(config.get('recipient_delimiter'), {
      ownerRequestSpecial: config.get('owner_request_special') !== '' ? config.bool('owner_request_special') : true,
      doubleBounceSender: config.get('double_bounce_sender') || 'double-bounce',
    });
    this.lock = {
      methods: config.list('mailbox_delivery_lock').length ? config.list('mailbox_delivery_lock') : ['fcntl', 'dotlock'],
      attempts: config.int('deliver_lock_attempts') || 20,
      delay: config.time('deliver_lock_delay') || 1,
      staleTime: config.time('stale_lock_time') || 500,
    };
  }

  /**
   * Deliver each recipient through aliases, `.forward` and the mailbox (or mailbox/fallback
   * transport); alias and `.forward` results other than the recipient itself are reported
   * in `expansions`.
   */
  async deliver(req: DeliveryRequest): Promise<RecipientStatus[]> {
    const out: RecipientStatus[] = [];
    const seen = deliveredToValues(req.content);
    for (const top of req.recipients) {
      const st: RecipientState = {
        req, top, sender: req.sender, seenDeliveredTo: seen, dup: new Set(), expanded: new Set(), results: [], forwards: [],
      };
      try {
        await this.recipient(st, top.address, 0, new Set());
        // One new message per envelope sender (owner- aliases change it).
        for (const sender of new Set(st.forwards.map((f) => f.sender))) st.results.push(...(await this.forward(st, sender)));
      } catch (e) {
        if (e instanceof AliasUnavailable) {
          this.deps.warn?.(e.message);
          st.results.push({ status: 'deferred', dsn: '4.3.0', text: 'alias database unavailable', address: top.address });
        } else {
          st.results.push({ status: 'deferred', dsn: '4.3.0', text: `local delivery error: ${(e as Error).message}`, address: top.address });
        }
      }
      out.push(summarize(st.results, top));
    }
    return out;
  }

  private prepend(where: string): boolean {
    return this.config.list('prepend_delivered_header').includes(where);
  }

  /** Prepended headers carry addresses in external (quoted) form, as Postfix writes them. */
  private envelope(st: RecipientState, where: 'file' | 'command'): DeliveryEnvelope {
    const env: DeliveryEnvelope = { sender: ext(st.sender) };
    if (this.config.get('enable_original_recipient') === '' || this.config.bool('enable_original_recipient')) env.originalTo = ext(st.top.original || st.top.address);
    if (this.prepend(where)) env.deliveredTo = ext(st.top.address);
    return env;
  }

  /** Deliver one (possibly expanded) address. */
  private async recipient(st: RecipientState, address: string, depth: number, chain: Set<string>): Promise<void> {
    if (depth > 100) {
      st.results.push({ status: 'bounced', dsn: '5.4.6', text: `alias database loop for ${address}`, address });
      return;
    }
    const key = address.toLowerCase();
    // Duplicates are per nesting level (so `tom: tom, white` still reaches tom's mailbox).
    const dupKey = `${depth} ${key}`;
    const limit = this.config.int('duplicate_filter_limit');
    if (st.dup.has(dupKey)) return;
    if (!(limit > 0 && st.dup.size >= limit)) st.dup.add(dupKey);
    if (st.seenDeliveredTo.has(key) || st.seenDeliveredTo.has(ext(address).toLowerCase())) {
      st.results.push({ status: 'bounced', dsn: '5.4.6', text: `mail forwarding loop for ${address}`, address });
      return;
    }
    const at = key.lastIndexOf('@');
    const local = at < 0 ? key : key.slice(0, at);
    if (local.startsWith('\\')) {
      await this.mailbox(st, local.slice(1), '', address);
      return;
    }
    const split = this.delim.split(local);
    let user = split ? split.user : local;
    let extension = split ? split.extension.slice(1) : '';
    if (extension.includes('/')) {
      extension = '';
      user = local;
    }
    if (user === '') {
      st.results.push({ status: 'bounced', dsn: '5.1.3', text: `null username in "${address}"`, address });
      return;
    }
    // Aliases: full local part first, then without the extension.
    if (!chain.has(local) && !chain.has(user)) {
      let hit: AliasHit | undefined;
      let name = local;
      hit = await this.aliases(local);
      if (!hit && split) {
        name = user;
        hit = await this.aliases(user);
      }
      if (hit) {
        const next = new Set(chain).add(name);
        const owner = await this.aliases(`owner-${name}`).catch(() => undefined);
        const saved = st.sender;
        const savedOwned = st.owned;
        if (owner && this.config.get('owner_request_special') !== 'no') {
          st.sender = `owner-${name}@${this.origin()}`;
          st.owned = true;
        }
        const privs = hit.owner && hit.owner.uid !== 0 ? hit.owner : this.defaultPrivs();
        await this.elements(st, splitAliasValue(hit.value), 'alias', privs, depth, next, address);
        st.sender = saved;
        st.owned = savedOwned;
        return;
      }
    }
    const pw = this.getpwnam(user);
    // .forward, unless we are already expanding this user's own .forward.
    if (pw && !chain.has(`forward:${user}`)) {
      const fwd = await this.readForward(pw, user, extension, address, local);
      if (fwd !== undefined) {
        const elements = splitAliasValue(fwd.text);
        if (elements.length > 0) {
          await this.elements(st, elements, 'forward', { uid: pw.uid, gid: pw.gid }, depth, new Set(chain).add(`forward:${user}`), address);
          return;
        }
      }
    }
    await this.mailbox(st, user, extension, address, pw);
  }

  private origin(): string {
    return this.config.get('myorigin') || this.config.get('myhostname');
  }

  private defaultPrivs(): Owner {
    const pw = this.getpwnam(this.config.get('default_privs') || 'nobody');
    return pw ? { uid: pw.uid, gid: pw.gid } : { uid: 65534, gid: 65534 };
  }

  private async readForward(pw: PasswdEntry, user: string, extension: string, recipient: string, local: string): Promise<{ text: string; path: string } | undefined> {
    const at = recipient.lastIndexOf('@');
    const vars: Record<string, string> = {
      user, home: pw.home, shell: pw.shell, recipient, extension, domain: at < 0 ? '' : recipient.slice(at + 1),
      local, recipient_delimiter: this.config.get('recipient_delimiter'),
    };
    const filter = this.config.get('forward_expansion_filter') || '1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const clean = (v: string) => [...v].map((c) => (filter.includes(c) ? c : '_')).join('');
    const raw = this.config.raw('forward_path') ?? '$home/.forward${recipient_delimiter}${extension}, $home/.forward';
    for (const item of raw.split(/[\s,]+/).filter(Boolean)) {
      const path = expandMacros(item, (n) => (n in vars ? clean(vars[n]!) || undefined : undefined)).value;
      if (!path) continue;
      try {
        const text = await fsp.readFile(path, 'utf8');
        return { text: text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n'), path };
      } catch {
        /* try the next one */
      }
    }
    return undefined;
  }

  private allowed(param: 'allow_mail_to_commands' | 'allow_mail_to_files', ctx: Context): boolean {
    return this.config.list(param).map((s) => s.toLowerCase()).includes(ctx);
  }

  /** Deliver each element of an alias/.forward/:include: value. */
  private async elements(st: RecipientState, elements: string[], ctx: Context, privs: Owner, depth: number, chain: Set<string>, current: string): Promise<void> {
    for (const el of elements) {
      if (el.startsWith('|')) {
        if (!this.allowed('allow_mail_to_commands', ctx)) {
          st.results.push({ status: 'bounced', dsn: '5.7.1', text: 'mail to command is restricted', address: current });
          continue;
        }
        st.results.push({ ...(await this.command(st, el.slice(1), privs)), address: current });
      } else if (el.startsWith('/')) {
        if (!this.allowed('allow_mail_to_files', ctx)) {
          st.results.push({ status: 'bounced', dsn: '5.7.1', text: 'mail to file is restricted', address: current });
          continue;
        }
        st.results.push({ ...(await this.file(st, el, privs)), address: current });
      } else if (el.toLowerCase().startsWith(':include:')) {
        const path = el.slice(9).trim();
        let text: string;
        let owner: Owner = privs;
        try {
          text = await fsp.readFile(path, 'utf8');
          const s = await fsp.stat(path);
          owner = s.uid === 0 ? this.defaultPrivs() : { uid: s.uid, gid: s.gid };
        } catch (e) {
          st.results.push({ status: 'deferred', dsn: '4.3.0', text: `cannot open include file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, address: current });
          continue;
        }
        const inner = splitAliasValue(text.split('\n').filter((l) => !/^\s*#/.test(l)).join(','));
        await this.elements(st, inner, 'include', owner, depth + 1, chain, current);
      } else if (el.startsWith('\\')) {
        const name = el.slice(1).toLowerCase().replace(/@.*$/, '');
        const at = current.lastIndexOf('@');
        await this.mailbox(st, name, '', el.includes('@') ? el.slice(1) : `${name}${at < 0 ? '' : current.slice(at)}`);
      } else {
        const canon = rewriteAddress(rewriteParamsFromConfig(this.config), 'local', el);
        // Results of :include: files and of owner- aliases are never delivered with this
        // recipient's rights: they are forwarded as new mail (as Postfix does).
        if (ctx !== 'include' && !st.owned && (await this.isLocal(canon))) await this.recipient(st, canon, depth + 1, chain);
        else if (st.req.verify) st.results.push({ status: 'sent', dsn: '2.0.0', text: `forwards to ${canon}`, address: canon });
        else if (!st.forwards.some((f) => f.address === canon && f.sender === st.sender)) st.forwards.push({ address: canon, sender: st.sender, ownerReset: st.owned === true });
      }
    }
  }

  private async isLocal(address: string): Promise<boolean> {
    if (this.deps.isLocal) return this.deps.isLocal(address);
    const at = address.lastIndexOf('@');
    if (at < 0) return true;
    const domain = address.slice(at + 1).toLowerCase().replace(/\.$/, '');
    return this.config.list('mydestination').some((d) => d.toLowerCase() === domain);
  }

  private commandEnv(st: RecipientState, pw: { name: string; home: string; shell: string } | undefined, extension = ''): Record<string, string> {
    const rcpt = st.top.address;
    const at = rcpt.lastIndexOf('@');
    const env: Record<string, string> = {
      PATH: '/usr/bin:/bin',
      SHELL: pw?.shell ?? '/bin/sh',
      HOME: pw?.home ?? '/',
      USER: pw?.name ?? '',
      LOGNAME: pw?.name ?? '',
      EXTENSION: extension,
      DOMAIN: at < 0 ? '' : rcpt.slice(at + 1),
      LOCAL: at < 0 ? rcpt : rcpt.slice(0, at),
      RECIPIENT: rcpt,
      ORIGINAL_RECIPIENT: st.top.original,
      SENDER: st.sender,
    };
    const filter = this.config.get('command_expansion_filter');
    if (filter) {
      for (const k of Object.keys(env)) if (k !== 'PATH') env[k] = [...env[k]!].map((c) => (filter.includes(c) ? c : '_')).join('');
    }
    return env;
  }

  private async command(st: RecipientState, cmd: string, privs: Owner, pw?: PasswdEntry, extension = ''): Promise<LocalResult> {
    if (st.req.verify) return { status: 'sent', dsn: '2.0.0', text: `delivers to command: ${cmd}` };
    const env = this.envelope(st, 'command');
    const input = Buffer.concat([Buffer.from(fromLine(env.sender, this.now()) + deliveryHeaders(env)), st.req.content]);
    const who = pw ?? this.passwdByUid(privs.uid);
    const cwd = this.config.get('command_execution_directory') || this.config.get('queue_directory') || '/';
    const res = await runCommand(cmd, input, {
      uid: privs.uid, gid: privs.gid, env: this.commandEnv(st, who, extension),
      cwd: await fsp.stat(cwd).then(() => cwd, () => '/'),
      timeLimit: this.config.time('command_time_limit') || 1000,
    });
    return res;
  }

  private passwdByUid(_uid: number): PasswdEntry | undefined {
    return undefined;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private async file(st: RecipientState, path: string, privs: Owner): Promise<LocalResult> {
    if (st.req.verify) return { status: 'sent', dsn: '2.0.0', text: `delivers to file: ${path}` };
    const env = this.envelope(st, 'file');
    // Postfix writes files with the rights of the alias/.forward owner; we run as root, so
    // check those rights first to fail the same way.
    const denied = await permissionProblem(path.endsWith('/') ? path.slice(0, -1) : path, privs);
    if (denied) return { status: 'bounced', dsn: '5.2.0', text: `cannot append message to file ${path}: ${denied}: Permission denied` };
    if (path.endsWith('/')) return deliverMaildir(path, env, st.req.content, { owner: privs, now: this.now() });
    const r = await appendMbox(path, env, st.req.content, { lock: this.lock, sizeLimit: this.config.int('mailbox_size_limit'), owner: privs, now: this.now() });
    return r.status === 'sent' ? { ...r, text: `delivered to file: ${path}` } : r;
  }

  /** Deliver through another transport (`transport[:nexthop]`), as local(8)'s deliver_pass. */
  private async passTo(st: RecipientState, value: string, address: string): Promise<LocalResult & { passed?: RecipientStatus }> {
    const colon = value.indexOf(':');
    const transport = colon < 0 ? value : value.slice(0, colon);
    const nexthop = colon < 0 || colon + 1 === value.length ? st.req.nexthop : value.slice(colon + 1);
    if (!this.deps.pass) return { status: 'deferred', dsn: '4.3.0', text: 'mail transport unavailable' };
    this.deps.info?.(`${st.req.queueId}: passing <${address}> to transport=${transport}`);
    const rcpt: DeliveryRecipient = { address, original: st.top.original || st.top.address, index: st.top.index };
    if (st.top.orcpt !== undefined) rcpt.orcpt = st.top.orcpt;
    if (st.top.notify !== undefined) rcpt.notify = st.top.notify;
    const [r] = await this.deps.pass(transport, nexthop, { ...st.req, sender: st.sender, transport, nexthop, recipients: [rcpt] });
    return r ? { status: r.status, dsn: r.dsn, text: r.text, passed: { ...r, loggedBy: r.loggedBy ?? transport } } : { status: 'deferred', dsn: '4.3.0', text: 'mail transport unavailable' };
  }

  /** Mailbox delivery for a user (or unknown-user handling). */
  private async mailbox(st: RecipientState, user: string, extension: string, address: string, pw = this.getpwnam(user)): Promise<void> {
    let mtm: string | undefined;
    let mcm: string | undefined;
    try {
      mtm = await this.mailboxTransportMaps(user);
      if (!mtm && pw) mcm = await this.mailboxCommandMaps(user);
    } catch (e) {
      if (!(e instanceof TableLookupFailure)) throw e;
      st.results.push({ status: 'deferred', dsn: '4.3.0', text: 'table lookup failure', address });
      return;
    }
    if (mtm) {
      st.results.push({ ...(await this.passTo(st, mtm, address)), address });
      return;
    }
    const mt = this.config.get('mailbox_transport');
    if (mt) {
      st.results.push({ ...(await this.passTo(st, mt, address)), address });
      return;
    }
    if (!pw) {
      st.results.push({ ...(await this.unknown(st, user, address)), address });
      return;
    }
    // One copy per mailbox, however many expansion paths lead to it.
    if (st.dup.has(`mailbox ${user}`)) return;
    st.dup.add(`mailbox ${user}`);
    const owner = { uid: pw.uid, gid: pw.gid };
    const mc = mcm || this.config.get('mailbox_command');
    if (mc) {
      const r = await this.command(st, mc, owner, pw, extension);
      st.results.push(r.status === 'sent' && !st.req.verify ? { ...r, text: `delivered to command: ${mc}`, address } : { ...r, address });
      return;
    }
    const env = this.envelope(st, 'file');
    const hm = this.config.get('home_mailbox');
    const spool = this.config.get('mail_spool_directory') || '/var/mail';
    if (st.req.verify) {
      const maildir = hm ? hm.endsWith('/') : spool.endsWith('/');
      st.results.push({ status: 'sent', dsn: '2.0.0', text: maildir ? 'delivers to maildir' : 'delivers to mailbox', address });
      return;
    }
    const now = this.now();
    if (hm.endsWith('/')) {
      st.results.push({ ...(await deliverMaildir(join(pw.home, hm) + '/', env, st.req.content, { owner, now })), address });
    } else if (hm) {
      st.results.push({ ...(await appendMbox(join(pw.home, hm), env, st.req.content, { lock: this.lock, sizeLimit: this.config.int('mailbox_size_limit'), owner, now, user, ...this.strictOwner() })), address });
    } else if (spool.endsWith('/')) {
      st.results.push({ ...(await deliverMaildir(join(spool, user) + '/', env, st.req.content, { owner, now })), address });
    } else {
      st.results.push({ ...(await appendMbox(join(spool, user), env, st.req.content, { lock: this.lock, sizeLimit: this.config.int('mailbox_size_limit'), owner, now, user, ...this.strictOwner() })), address });
    }
  }

  /** strict_mailbox_ownership (default yes) for mailbox files. */
  private strictOwner(): { strictOwner: boolean; warn: (t: string) => void } {
    const v = this.config.get('strict_mailbox_ownership');
    return { strictOwner: v === '' || this.config.bool('strict_mailbox_ownership'), warn: (t) => this.deps.warn?.(t) };
  }

  private async unknown(st: RecipientState, user: string, address: string): Promise<LocalResult> {
    let ftm: string | undefined;
    try {
      ftm = await this.fallbackTransportMaps(user);
    } catch (e) {
      if (!(e instanceof TableLookupFailure)) throw e;
      return { status: 'deferred', dsn: '4.3.0', text: 'table lookup failure' };
    }
    if (ftm) return this.passTo(st, ftm, address);
    const fb = this.config.get('fallback_transport');
    if (fb) return this.passTo(st, fb, address);
    const luser = this.config.raw('luser_relay') ? this.config.get('luser_relay') : '';
    if (luser) {
      const at = address.lastIndexOf('@');
      const target = expandMacros(luser, (n) => ({ user, recipient: address, local: at < 0 ? address : address.slice(0, at), domain: at < 0 ? '' : address.slice(at + 1), extension: '' } as Record<string, string>)[n]).value;
      const canon = rewriteAddress(rewriteParamsFromConfig(this.config), 'local', target);
      if (canon.toLowerCase() !== address.toLowerCase()) {
        if (st.req.verify) return { status: 'sent', dsn: '2.0.0', text: `forwards to ${canon}` };
        if (!st.forwards.some((f) => f.address === canon)) st.forwards.push({ address: canon, sender: st.sender, ownerReset: st.owned === true });
        return { status: 'sent', dsn: '2.0.0', text: 'forwarded' };
      }
    }
    if (user === 'mailer-daemon' || user === 'postmaster') {
      return { status: 'sent', dsn: '2.0.0', text: 'discarded' };
    }
    return { status: 'bounced', dsn: '5.1.1', text: `unknown user: "${user}"` };
  }

  /**
   * Send the addresses collected from aliases/.forward as one new message (per sender), logged
   * once for the recipient being expanded. Copies made under an owner- alias start afresh: their
   * original recipient is the new address and DSN attributes are cleared.
   */
  private async forward(st: RecipientState, sender: string): Promise<(LocalResult & { address: string })[]> {
    const head = this.prepend('forward') ? `Delivered-To: ${ext(st.top.address)}\n` : '';
    const list = st.forwards.filter((f) => f.sender === sender);
    const attributes = { ...st.req.attributes };
    if (list.some((f) => f.ownerReset)) {
      delete attributes.dsnEnvid;
      delete attributes.dsnRet;
    }
    const id = await this.deps.forward.enqueue({
      sender,
      recipients: list.map((f) => {
        const r: { address: string; original: string; notify?: string[] } = { address: f.address, original: f.ownerReset ? f.address : (st.top.original || st.top.address) };
        if (!f.ownerReset && st.top.notify) r.notify = st.top.notify;
        return r;
      }),
      content: Buffer.concat([Buffer.from(head), st.req.content]),
      arrivedAt: this.now(),
      attributes,
    });
    return [{ status: 'sent', dsn: '2.0.0', text: `forwarded as ${id}`, address: st.top.address }];
  }
}

/** Could uid/gid write `path` (or create it)? Returns Postfix's failing step, or undefined. */
async function permissionProblem(path: string, who: Owner): Promise<string | undefined> {
  if (who.uid === 0) return undefined;
  const may = (st: { uid: number; gid: number; mode: number }, bits: number): boolean => {
    const m = st.uid === who.uid ? (st.mode >> 6) & 7 : st.gid === who.gid ? (st.mode >> 3) & 7 : st.mode & 7;
    return (m & bits) === bits;
  };
  const st = await fsp.stat(path).catch(() => undefined);
  if (st) return may(st, 2) ? undefined : 'cannot open file';
  const dir = await fsp.stat(path.slice(0, Math.max(1, path.lastIndexOf('/')))).catch(() => undefined);
  return dir && may(dir, 3) ? undefined : 'cannot create file exclusively';
}

/** External (RFC 5322 quoted) form of an internal address; the null address stays empty. */
function ext(addr: string): string {
  return addr === '' ? '' : quote822Local(addr);
}

/**
 * One status for the queue recipient (any deferral defers, else any bounce bounces), with every
 * final delivery listed so the queue manager logs and reports each one as Postfix does.
 */
function summarize(results: Result[], top: DeliveryRecipient): RecipientStatus {
  const r =
    results.find((x) => x.status === 'deferred') ??
    results.find((x) => x.status === 'bounced') ??
    results[results.length - 1] ?? { status: 'sent', dsn: '2.0.0', text: 'discarded', address: top.address };
  // A recipient passed to another transport is logged and reported as that transport did.
  const own = (x: Result): RecipientStatus => {
    if (x.passed) return { ...x.passed, status: x.status, dsn: x.dsn, text: x.text };
    const e: RecipientStatus = { status: x.status, dsn: x.dsn, text: x.text, relay: 'local' };
    if (x.status !== 'sent') e.diagnosticType = 'x-unix';
    return e;
  };
  const st: RecipientStatus = own(r as Result);
  if (results.length > 1 || (results[0] && results[0].address !== top.address)) {
    st.expansions = results.map((x) => ({ ...own(x), address: x.address }));
  }
  return st;
}
