/**
 * aliases(5) expansion as local(8) does it for one local recipient: look up the local part
 * (`user+ext`, then `user`) in `alias_maps`; expand each element of the value — an address
 * (canonicalised and resolved: local results are expanded again in-process, others are
 * forwarded as a new message), `/file`, `|command`, `:include:/file`, `\user` (mailbox,
 * no further aliasing). An address that appears in its own expansion goes to the mailbox.
 * With an `owner-NAME` alias, copies made by expanding NAME get the envelope sender
 * `owner-NAME@$myorigin` (or its value with `expand_owner_alias`), their original recipient
 * is reset, and local users among them are forwarded rather than delivered in-process.
 * Nesting deeper than 100 levels bounces with `5.4.6 alias database loop for NAME`.
 *
 * Parameters: `alias_maps`, `recipient_delimiter`, `propagate_unmatched_extensions`
 * (`alias`, `include`), `owner_request_special`, `expand_owner_alias`,
 * `allow_mail_to_commands`, `allow_mail_to_files`, `duplicate_filter_limit`, `myorigin`.
 * `.forward` files are read through the caller's reader (`forward_path` and home directories are
 * the caller's business); their lines are expanded like alias values with `forward` rights.
 */
import { internalizeAddress, parseAddressList } from '../address/tokenize.js';
import type { Table } from '../maps/types.js';
import { extensionStart, type ExtensionSplit } from './addr-util.js';
import type { Lookup } from './lookup.js';
import { isTableError } from './outcome.js';
import type { Trace } from './trace.js';

/** Postfix local(8)'s MAX_ALIAS_LEVEL. */
export const MAX_ALIAS_LEVEL = 100;

/** Where commands/files are allowed (`allow_mail_to_commands`, `allow_mail_to_files`). */
export type AllowClass = 'alias' | 'forward' | 'include';

/** The parameters alias expansion reads. */
export interface AliasParams {
  /** How a local part splits into user and extension (`recipient_delimiter`, `owner_request_special`, `double_bounce_sender`). */
  split: ExtensionSplit;
  /** `alias` ∈ `propagate_unmatched_extensions`. */
  propagateAlias: boolean;
  /** `include` ∈ `propagate_unmatched_extensions`. */
  propagateInclude: boolean;
  /** `forward` ∈ `propagate_unmatched_extensions`. */
  propagateForward?: boolean;
  /** `owner_request_special`: an `owner-NAME` alias becomes the envelope sender of NAME's expansion (and resets its original recipient). */
  ownerRequestSpecial: boolean;
  /** `expand_owner_alias`: that sender is the first element of the `owner-NAME` value rather than `owner-NAME` itself. */
  expandOwnerAlias: boolean;
  /** `allow_mail_to_commands`: where `|command` elements are delivered; elsewhere they bounce (5.7.1). */
  allowCommands: ReadonlySet<AllowClass>;
  /** `allow_mail_to_files`: where `/file` elements are delivered; elsewhere they bounce (5.7.1). */
  allowFiles: ReadonlySet<AllowClass>;
  /** `duplicate_filter_limit`: how many entries the delivery request's duplicate filter keeps (0 = no limit). */
  duplicateFilterLimit: number;
}

/** What expansion needs from the rest of the system. */
export interface AliasEnv {
  /** `alias_maps` tables. */
  tables: readonly Table[];
  /**
   * Canonicalise (rewrite, context local) and resolve an internal-form address; `local` when
   * its transport is the local delivery agent (then it is expanded again in-process).
   */
  resolve(addr: string, lk: Lookup): {
    /** The address after canonicalisation and resolve (internal form). */
    address: string;
    /** Its transport is the local delivery agent. */
    local: boolean;
  };
  /** Read an `:include:` file (throw when it cannot be read). */
  readInclude?(path: string): string;
  /**
   * The user's `.forward` contents (the first file of `forward_path` that exists, e.g.
   * `~user/.forward+ext` then `~user/.forward`), undefined when there is none; throw when it
   * exists but cannot be read. Without it, `.forward` files are not consulted.
   */
  readForward?(user: string, extension: string | undefined): string | undefined;
}

/** One thing local(8) would do for the recipient. */
export type AliasDelivery =
  | {
      /** Delivery to a local user's mailbox. */
      kind: 'mailbox';
      /** The address delivered (internal form). */
      recipient: string;
      /** The local user whose mailbox gets the copy (lower-cased local part). */
      user: string;
      /** Envelope sender of the copy: the `owner-` alias when one applies, else the message's sender. */
      sender: string;
      /** Original recipient recorded for the delivery (DSN ORCPT). */
      original: string;
    }
  | {
      /** The address is not delivered here: it is forwarded as a new message. */
      kind: 'forward';
      /** The address forwarded to (canonicalised and resolved, internal form). */
      recipient: string;
      /** Envelope sender of the forwarded copy: the `owner-` alias when one applies, else the message's sender. */
      sender: string;
      /** Original recipient the forwarded copy carries (the address itself when there is none). */
      original: string;
    }
  | {
      /** Append to a file (a `/file` element). */
      kind: 'file';
      /** The file's path (the `/file` element as written). */
      path: string;
      /** The alias (or `.forward` owner) the delivery is made for. */
      recipient: string;
      /** Envelope sender: the `owner-` alias when one applies, else the message's sender. */
      sender: string;
      /** Original recipient recorded for the delivery (`''` after an `owner-` alias reset it). */
      original: string;
    }
  | {
      /** Pipe to a command (a `|command` element). */
      kind: 'command';
      /** The command line, without the `|`. */
      command: string;
      /** The alias (or `.forward` owner) the delivery is made for. */
      recipient: string;
      /** Envelope sender: the `owner-` alias when one applies, else the message's sender. */
      sender: string;
      /** Original recipient recorded for the delivery (`''` after an `owner-` alias reset it). */
      original: string;
    }
  | {
      /** `bounce`: permanent failure (restricted file/command, loop, null username); `defer`: try later (table or file read error). */
      kind: 'bounce' | 'defer';
      /** The address or alias element that failed. */
      recipient: string;
      /** Enhanced status code (`5.4.6`, `5.7.1`, `4.3.0` …). */
      status: string;
      /** Text after the status code (`alias database loop for NAME` …). */
      text: string;
      /** Original recipient of the failed delivery. */
      original: string;
    };

/** Input: the recipient local(8) got (internal form), its original recipient and the sender. */
export interface AliasInput {
  /** The recipient local(8) got (internal form). */
  recipient: string;
  /** Its original recipient (DSN ORCPT), `''` when there is none. */
  original: string;
  /** The message's envelope sender (internal form; `''` is the null sender). */
  sender: string;
}

interface State {
  level: number;
  /** The alias whose expansion produced this recipient. */
  expFrom: string | undefined;
  /** Owner (envelope sender) set by an owner- alias; undefined = none. */
  owner: string | undefined;
  /** From :include: (always forwarded). */
  fromInclude: boolean;
  sender: string;
  original: string;
  origin: 'alias' | 'include' | 'forward';
}

/**
 * Expand one local recipient. Never throws for bad data: table errors give a `defer`
 * delivery (4.3.0), loops a `bounce` (5.4.6). `seen` is the duplicate filter of the delivery
 * request: pass the same set for recipients of one message delivered together.
 */
export function expandAliases(params: AliasParams, env: AliasEnv, input: AliasInput, lk: Lookup, trace?: Trace, seen: Set<string> = new Set()): AliasDelivery[] {
  const out: AliasDelivery[] = [];
  const st: State = { level: 0, expFrom: undefined, owner: undefined, fromInclude: false, sender: input.sender, original: input.original, origin: 'alias' };
  deliverRecipient(params, env, input.recipient, st, lk, trace, out, seen);
  return out;
}

function dup(seen: Set<string>, limit: number, key: string): boolean {
  if (seen.has(key)) return true;
  if (limit <= 0 || seen.size < limit) seen.add(key);
  return false;
}

function deliverRecipient(p: AliasParams, env: AliasEnv, addr: string, st: State, lk: Lookup, trace: Trace | undefined, out: AliasDelivery[], seen: Set<string>): void {
  if (dup(seen, p.duplicateFilterLimit, `recipient ${st.level} ${addr}`)) return;
  const at = addr.lastIndexOf('@');
  const local = (at < 0 ? addr : addr.slice(0, at)).toLowerCase();
  const domain = at < 0 ? '' : addr.slice(at);
  // \user: mailbox only.
  if (local.charCodeAt(0) === 0x5c /* \ */) {
    out.push({ kind: 'mailbox', recipient: local.slice(1) + domain, user: local.slice(1), sender: st.owner ?? st.sender, original: st.original });
    return;
  }
  const extPos = extensionStart(local, p.split);
  const user = extPos < 0 ? local : local.slice(0, extPos);
  const ext = extPos < 0 ? undefined : local.slice(extPos);
  if (user.length === 0) {
    out.push({ kind: 'bounce', recipient: addr, status: '5.1.3', text: `null username in "${addr}"`, original: st.original });
    return;
  }
  // Aliases (not for the alias that produced this very address: that is the self-reference).
  if (st.expFrom !== user && st.expFrom !== local) {
    let hit: { name: string; value: string } | undefined;
    try {
      hit = aliasLookup(env.tables, local, lk, trace);
      if (!hit && ext !== undefined) hit = aliasLookup(env.tables, user, lk, trace);
    } catch (e) {
      if (!isTableError(e)) throw e;
      out.push({ kind: 'defer', recipient: addr, status: '4.3.0', text: `alias database unavailable (${(e as Error).message})`, original: st.original });
      return;
    }
    if (hit) {
      if (st.level > MAX_ALIAS_LEVEL) {
        out.push({ kind: 'bounce', recipient: addr, status: '5.4.6', text: `alias database loop for ${hit.name}`, original: st.original });
        return;
      }
      // owner-NAME: errors (envelope sender) go to the owner; DSN original recipient is reset.
      let owner = st.owner;
      let original = st.original;
      if (p.ownerRequestSpecial && !hit.name.startsWith('owner-')) {
        let ownerHit: { name: string; value: string } | undefined;
        try {
          ownerHit = aliasLookup(env.tables, `owner-${hit.name}`, lk, trace);
        } catch (e) {
          if (!isTableError(e)) throw e;
        }
        if (ownerHit) {
          const first = p.expandOwnerAlias ? elements(ownerHit.value)[0]?.text : undefined;
          owner = env.resolve(first ?? `owner-${hit.name}`, lk).address;
          original = '';
        }
      }
      const extension = p.propagateAlias && ext !== undefined && hit.name === user ? ext : undefined;
      const next: State = { ...st, expFrom: hit.name, owner, original, origin: 'alias' };
      if (trace) trace.push({ stage: 'alias_maps', key: hit.name, input: addr, output: hit.value, note: owner ? `owner ${owner}` : undefined });
      expandValue(p, env, hit.value, next, extension, lk, trace, out, seen);
      return;
    }
  }
  // No alias: mailbox, unless the recipient came from :include: or a foreign owner's alias.
  if (st.fromInclude || (st.owner !== undefined && st.level > 0)) {
    out.push({ kind: 'forward', recipient: addr, sender: st.owner ?? st.sender, original: st.original || addr });
    return;
  }
  // ~/.forward (forward_path), unless this address came from the user's own .forward.
  if (env.readForward && st.expFrom !== `forward:${user}`) {
    let text: string | undefined;
    try {
      text = env.readForward(user, ext);
    } catch (e) {
      out.push({ kind: 'defer', recipient: addr, status: '4.3.0', text: `cannot open .forward file for ${user}: ${(e as Error).message}`, original: st.original });
      return;
    }
    if (text !== undefined && /\S/.test(text.replace(/^\s*#.*$/gm, ''))) {
      if (dup(seen, p.duplicateFilterLimit, `forward ${user}`)) return;
      if (trace) trace.push({ stage: 'forward', key: user, input: addr, output: text.trim() });
      const lines = text.split('\n').filter((l) => !/^\s*(#|$)/.test(l)).join(', ');
      const next: State = { ...st, expFrom: `forward:${user}`, origin: 'forward', level: st.level };
      expandValue(p, env, lines, next, p.propagateForward ? ext : undefined, lk, trace, out, seen, user);
      return;
    }
  }
  // One delivery per mailbox, whatever the path that led to it.
  if (dup(seen, p.duplicateFilterLimit, `mailbox ${addr.toLowerCase()}`)) return;
  out.push({ kind: 'mailbox', recipient: addr, user, sender: st.owner ?? st.sender, original: st.original || addr });
}

function aliasLookup(tables: readonly Table[], name: string, lk: Lookup, trace: Trace | undefined): { name: string; value: string } | undefined {
  for (const t of tables) {
    const v = lk.get(t, name);
    if (trace) trace.push({ stage: 'alias_maps', table: t.name, key: name, result: v ?? null });
    if (v !== undefined) return { name, value: v };
  }
  return undefined;
}

interface Element {
  text: string;
  /** Written as `\user`. */
  backslash: boolean;
}

/** The elements of an alias value, in internal form (tok822 parse + internalize). */
function elements(value: string): Element[] {
  const out: Element[] = [];
  const backslashed = new Set<string>();
  for (const m of value.matchAll(/(?:^|[,\s])\\([^\s,]+)/g)) backslashed.add(m[1]!.toLowerCase());
  for (const n of parseAddressList(value)) {
    if (n.type !== 'address') continue;
    const text = internalizeAddress(n.tokens);
    out.push({ text, backslash: backslashed.has(text.toLowerCase()) });
  }
  return out;
}

function expandValue(p: AliasParams, env: AliasEnv, value: string, st: State, extension: string | undefined, lk: Lookup, trace: Trace | undefined, out: AliasDelivery[], seen: Set<string>, forwardUser?: string): void {
  const sender = st.owner ?? st.sender;
  // The name the file/command deliveries are made for: the alias, or the .forward's owner.
  const recipient = st.expFrom === undefined ? '' : st.expFrom.startsWith('forward:') ? st.expFrom.slice(8) : st.expFrom;
  for (const el of elements(value)) {
    const t = el.text;
    if (t.charCodeAt(0) === 0x2f /* / */) {
      if (!p.allowFiles.has(st.origin)) out.push({ kind: 'bounce', recipient: t, status: '5.7.1', text: `mail to file is restricted`, original: st.original });
      else out.push({ kind: 'file', path: t, recipient, sender, original: st.original });
      continue;
    }
    if (t.charCodeAt(0) === 0x7c /* | */) {
      if (!p.allowCommands.has(st.origin)) out.push({ kind: 'bounce', recipient: t, status: '5.7.1', text: `mail to command is restricted`, original: st.original });
      else out.push({ kind: 'command', command: t.slice(1), recipient, sender, original: st.original });
      continue;
    }
    if (t.toLowerCase().startsWith(':include:')) {
      const path = t.slice(9);
      if (!env.readInclude) {
        out.push({ kind: 'defer', recipient: t, status: '4.3.0', text: `cannot open include file ${path}`, original: st.original });
        continue;
      }
      let text: string;
      try {
        text = env.readInclude(path);
      } catch (e) {
        out.push({ kind: 'defer', recipient: t, status: '4.3.0', text: `cannot open include file ${path}: ${(e as Error).message}`, original: st.original });
        continue;
      }
      const lines = text.split('\n').filter((l) => !/^\s*(#|$)/.test(l)).join(', ');
      if (trace) trace.push({ stage: 'include', key: path, output: lines });
      expandValue(p, env, lines, { ...st, fromInclude: true, origin: 'include' }, p.propagateInclude ? extension : undefined, lk, trace, out, seen);
      continue;
    }
    let addr = t;
    if (el.backslash) {
      // \user: mailbox of that user, no aliases.
      const r = env.resolve(addr, lk);
      const a = r.address;
      const at = a.lastIndexOf('@');
      out.push({ kind: 'mailbox', recipient: a, user: (at < 0 ? a : a.slice(0, at)).toLowerCase(), sender, original: st.original || a });
      continue;
    }
    if (extension !== undefined) {
      const at = addr.lastIndexOf('@');
      addr = at < 0 ? addr + extension : addr.slice(0, at) + extension + addr.slice(at);
    }
    const r = env.resolve(addr, lk);
    if (!r.local) {
      out.push({ kind: 'forward', recipient: r.address, sender, original: st.original || r.address });
      continue;
    }
    if (forwardUser !== undefined) {
      // A user listed in their own .forward: mailbox, no further aliasing.
      const at = r.address.lastIndexOf('@');
      const u = (at < 0 ? r.address : r.address.slice(0, at)).toLowerCase();
      if (u === forwardUser) {
        if (!dup(seen, p.duplicateFilterLimit, `mailbox ${r.address.toLowerCase()}`)) {
          out.push({ kind: 'mailbox', recipient: r.address, user: u, sender, original: st.original || r.address });
        }
        continue;
      }
    }
    deliverRecipient(p, env, r.address, { ...st, level: st.level + 1 }, lk, trace, out, seen);
  }
}
