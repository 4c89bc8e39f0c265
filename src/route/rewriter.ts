/**
 * The whole address pipeline of Postfix behind one object: what cleanup does to envelope
 * senders, envelope recipients and header addresses (trivial-rewrite "rewrite", canonical
 * maps, masquerading, virtual alias expansion, duplicate elimination) and what qmgr asks
 * trivial-rewrite's "resolve" for each recipient (address class, transport, nexthop,
 * transport_maps, relocated_maps), optionally followed by local(8) alias expansion.
 *
 * Every result is data: a table failure becomes the deferral Postfix would give (451 4.3.0),
 * an alias loop or an expansion over a limit its 4.6.0 deferral, a relocated user its 5.1.6
 * bounce. Nothing from bad data or failing tables is thrown out of these methods.
 *
 * Traces (`{ trace: true }`) list every table probe and stage outcome; without it no trace
 * is built. With tables that all answer synchronously the `*Sync` methods run without
 * promises; the async methods accept any tables.
 *
 * Parameters: those of every stage module (canonical.ts, masquerade.ts, virtual-alias.ts,
 * transport.ts, relocated.ts, rewrite.ts, resolve.ts), plus `empty_address_recipient`,
 * `remote_header_rewrite_domain`, `header_address_token_limit`, `duplicate_filter_limit`,
 * `propagate_unmatched_extensions`, `recipient_delimiter`, `myorigin`.
 */
import { readFileSync } from 'node:fs';
import { quote822Local, QUOTE_DEFAULT } from '../address/quote.js';
import { rewriteHeaderAddresses } from '../address/header.js';
import type { Config } from '../config/types.js';
import { MapError, type Warning } from '../errors.js';
import { openTable as registryOpenTable } from '../maps/registry.js';
import type { Table } from '../maps/types.js';
import type { MapEnv } from './addr-map.js';
import { extensionSplit } from './addr-util.js';
import { expandAliases, type AliasDelivery, type AliasParams } from './aliases.js';
import { AddrClass, canonicalize, parseClasses, type CanonicalParams, type CanonicalTables } from './canonical.js';
import { DIRECT, Lookup, allSync, withLookups } from './lookup.js';
import { lookupBcc, type BccHit } from './bcc.js';
import { EnvelopeFastPath } from './envelope-fast-path.js';
import { mapGeneric, type GenericResult } from './generic.js';
import { masquerade, masqueradeDomains, type MasqueradeParams } from './masquerade.js';
import { MatchList, openMatchList } from './match-list.js';
import { isTableError, type Deferral } from './outcome.js';
import { lookupRelocated } from './relocated.js';
import {
  isLocalDomain,
  isLocalDomainStable,
  resolveAddress,
  resolveAddressAsync,
  resolveDomainTemplate,
  resolveParamsFromConfig,
  ResolveFlags,
  type AddressClass,
  type ResolveConfigOptions,
  type ResolveParams,
  type ResolveResult,
} from './resolve.js';
import { rewriteAddress, rewriteExternal, rewriteParamsFromConfig, type RewriteContext, type RewriteParams } from './rewrite.js';
import type { Stage, Trace } from './trace.js';
import { lookupTransport } from './transport.js';
import { DuplicateFilter, expandVirtualAlias, type VirtualAliasParams } from './virtual-alias.js';

/** Table-valued parameters the pipeline reads. */
export const PIPELINE_TABLE_PARAMETERS = [
  'canonical_maps',
  'sender_canonical_maps',
  'recipient_canonical_maps',
  'virtual_alias_maps',
  'transport_maps',
  'relocated_maps',
  'sender_bcc_maps',
  'recipient_bcc_maps',
  'smtp_generic_maps',
] as const;
/** One of {@link PIPELINE_TABLE_PARAMETERS}. */
export type PipelineTableParameter = (typeof PIPELINE_TABLE_PARAMETERS)[number];

/** How {@link createRewriter} gets its tables. */
export interface RewriterOptions {
  /** Tables already opened, per parameter (overrides the configuration's value). */
  tables?: Partial<Record<PipelineTableParameter, readonly Table[]>>;
  /** Opens `type:name` (default: the table registry, relative to the config directory). */
  openTable?: (spec: string) => Promise<Table>;
  /** Passed to resolve's configuration (interface addresses, host lookups, table opener). */
  resolve?: ResolveConfigOptions;
  /** `alias_maps` tables (default: opened from the configuration; tables that fail to open are skipped). */
  aliasTables?: readonly Table[];
  /** Reads `:include:` files for alias expansion (default: the file system). */
  readInclude?: (path: string) => string;
  /** Reads a user's `.forward` (see AliasEnv.readForward); default: `.forward` files are not read. */
  readForward?: (user: string, extension: string | undefined) => string | undefined;
}

/** Options of one call. */
export interface CallOptions {
  /** Record every step (default false: no trace is built at all). */
  trace?: boolean;
  /** The address is in external (quoted) form, as in SMTP (default: internal form). */
  external?: boolean;
  /**
   * Recipients only: also run local(8)'s alias expansion for local recipients, and the whole
   * pipeline again for addresses it forwards (default false). Needs `alias_maps`.
   */
  aliases?: boolean;
  /**
   * Recipients: the message's envelope sender (internal form, `''` = null sender), as qmgr
   * passes it to resolve — the key of `sender_dependent_default_transport_maps` and
   * `sender_dependent_relayhost_maps`, which are not consulted when no sender is given; with
   * `aliases`, also the sender the copies carry.
   */
  sender?: string;
  /**
   * `false`: as with `receive_override_options = no_address_mappings` (mail coming back from a
   * content filter): canonical maps, masquerading and virtual aliasing are not applied, only
   * trivial-rewrite. Default true.
   */
  mappings?: boolean;
}

/** The options of a call that gives none (one object, not one per call). */
const NO_OPTIONS: CallOptions = Object.freeze({});

/** Result of {@link Rewriter.rewriteSender}. */
export interface SenderResult {
  /** The envelope sender to queue (internal form; `''` is the null sender). */
  address: string;
  /** The same in external (quoted) form. */
  external: string;
  /** The message cannot be accepted now (a table failed). */
  defer?: Deferral;
  /** Postfix's canonical maps warnings (`multi-valued … entry`, `unreasonable … map nesting`). */
  warnings?: string[];
  /** Every table probe and stage outcome, in order (only with `trace: true`). */
  trace?: Trace;
}

/** Why a recipient will not be delivered normally. */
export interface RecipientOutcome {
  /** `bounce`: permanent failure; `defer`: try later. */
  kind: 'bounce' | 'defer';
  /** Enhanced status code (`5.1.1`, `5.1.6`, `4.3.0` …). */
  status: string;
  /** Text after the status code (`User unknown in virtual alias table` …). */
  text: string;
}

/** One recipient as qmgr would hand it to a delivery agent. */
export interface FinalRecipient {
  /** Recipient after resolve (internal form). */
  address: string;
  /** The same in external form. */
  external: string;
  /** Address class; undefined when resolve failed. */
  addressClass: AddressClass | undefined;
  /** Transport (master.cf service); undefined when resolve failed or the syntax is bad. */
  transport: string | undefined;
  /** Nexthop (or the bounce/defer text for the error/retry transports). */
  nexthop: string | undefined;
  /** Resolve flags (ResolveFlags bits). */
  flags: number;
  /** Set for recipients that bounce or are deferred instead of being delivered. */
  outcome?: RecipientOutcome;
  /** Matched transport_maps entry. */
  transportTable?: {
    /** The table (`type:name`) that matched. */
    table: string;
    /** The key that matched (`*` for the catch-all entry). */
    key: string;
    /** The entry's value, as written (`transport:nexthop`). */
    value: string;
  };
  /** Matched relocated_maps entry (the new location). */
  relocated?: {
    /** The table (`type:name`) that matched. */
    table: string;
    /** The key that matched. */
    key: string;
    /** The new location, as in the 5.1.6 bounce text `User has moved to <value>`. */
    value: string;
  };
  /**
   * With `aliases: true`, for local recipients: what local(8) does — mailbox, file and command
   * deliveries, bounces, and forwarded addresses (with the pipeline's result for each).
   */
  local?: LocalDelivery[];
}

/** One local(8) action; forwards carry the recipients the forwarded copy ends up with. */
export type LocalDelivery = AliasDelivery & {
  /** For `forward`: the pipeline's final recipients of the forwarded copy (`[]` beyond 20 nested forwards). */
  forwarded?: FinalRecipient[];
};

/** Result of {@link Rewriter.rewriteRecipient}. */
export interface RecipientResult {
  /** The recipient as given. */
  original: string;
  /** After rewrite, canonical maps and masquerading, before virtual aliasing (internal form). */
  canonical: string;
  /** Final recipients, after virtual alias expansion and duplicate elimination. */
  recipients: FinalRecipient[];
  /** The message cannot be accepted now (table failure, alias expansion limits). */
  defer?: Deferral;
  /** Postfix's canonical maps warnings (`multi-valued … entry`, `unreasonable … map nesting`). */
  warnings?: string[];
  /** Every table probe and stage outcome, in order (only with `trace: true`). */
  trace?: Trace;
}

/** Header rewrite context: `none` = headers untouched (remote client, no remote domain). */
export type HeaderContext = 'local' | 'remote' | 'none';

/** Options of {@link Rewriter.rewriteHeaders}. */
export interface HeaderOptions {
  /** `local` (trusted client) or `remote` context, or `none` (no rewriting). */
  context: HeaderContext;
  /** Record every step (default false). */
  trace?: boolean;
  /** `false`: trivial-rewrite only, no canonical maps or masquerading (`no_address_mappings`). Default true. */
  mappings?: boolean;
}

/** Result of {@link Rewriter.rewriteHeaders}. */
export interface HeadersResult {
  /** The header block; identical (same string) when nothing changed. */
  headers: string;
  /** Whether `headers` is a new block (false when nothing changed or on a deferral). */
  changed: boolean;
  /** Names of the headers that were regenerated, in order. */
  rewritten: string[];
  /** A table failed: the message cannot be accepted now (`headers` is then the block as given). */
  defer?: Deferral;
  /** Postfix's `stripping too many comments from address` warnings. */
  warnings?: Warning[];
  /** Every table probe and stage outcome, in order (only with `trace: true`). */
  trace?: Trace;
}

/** Sender-type address headers (class header_sender). The header keeps its name as written. */
const SENDER_HEADERS = ['From', 'Sender', 'Reply-To', 'Errors-To', 'Return-Path', 'Return-Receipt-To', 'Disposition-Notification-To', 'Mail-Followup-To', 'Resent-From', 'Resent-Sender'];
/** Recipient-type address headers (class header_recipient); Resent-Reply-To is one, as in Postfix. */
const RECIPIENT_HEADERS = ['To', 'Cc', 'Bcc', 'Apparently-To', 'Resent-To', 'Resent-Cc', 'Resent-Bcc', 'Resent-Reply-To'];
const HEADER_CLASS = new Map<string, { name: string; cls: number }>([
  ...SENDER_HEADERS.map((n) => [n.toLowerCase(), { name: n, cls: AddrClass.HEADER_SENDER }] as const),
  ...RECIPIENT_HEADERS.map((n) => [n.toLowerCase(), { name: n, cls: AddrClass.HEADER_RECIPIENT }] as const),
]);

/** The compiled pipeline. Create with {@link createRewriter}. */
export class Rewriter {
  /** True when every table (and domain list) answers synchronously: the `*Sync` methods work. */
  readonly isSync: boolean;
  private readonly env: MapEnv;
  private readonly myoriginLower: string;
  private readonly mailerDaemonCanon: string;
  /** Envelope stages for plain addresses over synchronous tables (undefined: general path only). */
  private readonly fast: EnvelopeFastPath | undefined;

  /** @internal Use {@link createRewriter}. */
  constructor(
    /** trivial-rewrite "rewrite" parameters (`myorigin`, `mydomain`, `append_at_myorigin` …). */
    readonly rewriteParams: RewriteParams,
    /** trivial-rewrite "resolve" parameters (address class domains, transports, nexthops). */
    readonly resolveParams: ResolveParams,
    /** `canonical_classes`, `sender_canonical_classes`, `recipient_canonical_classes`, extension propagation. */
    readonly canonicalParams: CanonicalParams,
    /** `canonical_maps`, `sender_canonical_maps` and `recipient_canonical_maps` tables. */
    readonly canonicalTables: CanonicalTables,
    /** `masquerade_domains`, `masquerade_exceptions`, `masquerade_classes`. */
    readonly masqueradeParams: MasqueradeParams,
    /** `virtual_alias_*_limit` parameters and extension propagation for `virtual_alias_maps`. */
    readonly virtualParams: VirtualAliasParams,
    /** The tables of each {@link PIPELINE_TABLE_PARAMETERS} parameter, in order. */
    readonly tables: Readonly<Record<PipelineTableParameter, readonly Table[]>>,
    /** local(8) alias expansion parameters (used with `aliases: true`). */
    readonly aliasParams: AliasParams,
    /** `alias_maps` tables, in order (those that could be opened). */
    readonly aliasTables: readonly Table[],
    /** The other parameters the pipeline reads, and the alias expansion file readers. */
    readonly settings: {
      /** `recipient_delimiter`: extension delimiters for table lookups. */
      delimiter: string;
      /** `owner_request_special`: `owner-*` and `*-request` local parts are not split at `-`. */
      ownerRequestSpecial: boolean;
      /** `double_bounce_sender`: a local part never split into user and extension. */
      doubleBounceSender: string;
      /** `empty_address_recipient`: what an empty envelope recipient becomes before rewriting. */
      emptyAddressRecipient: string;
      /** `duplicate_filter_limit`: size of cleanup's duplicate filters. */
      duplicateFilterLimit: number;
      /** `header_address_token_limit`: tokens kept per address header. */
      headerTokenLimit: number;
      /** `transport_maps` ∈ `parent_domain_matches_subdomains`: a `domain` key also matches its subdomains. */
      transportParentStyle: boolean;
      /** `remote_header_rewrite_domain`: empty means headers from remote clients are not rewritten. */
      remoteHeaderDomain: string;
      /** `myorigin`: a domain that counts as local in table lookups. */
      myorigin: string;
      /** Reads `:include:` files for alias expansion (throws when a file cannot be read). */
      readInclude?: ((path: string) => string) | undefined;
      /** Reads a user's `.forward` (see AliasEnv.readForward); undefined: `.forward` files are not read. */
      readForward?: ((user: string, extension: string | undefined) => string | undefined) | undefined;
      /** `enable_original_recipient`: the message-wide duplicate filter also keys on the original recipient. */
      enableOriginalRecipient?: boolean;
      /**
       * Resolve parameters with `sender_dependent_default_transport_maps` and
       * `sender_dependent_relayhost_maps` (undefined when neither is set): used when a call
       * names the sender (CallOptions.sender).
       */
      senderResolveParams?: ResolveParams | undefined;
      /** `always_bcc`: the address cleanup adds to every new message (`''`: none). */
      alwaysBcc?: string;
      /** `generic` in `propagate_unmatched_extensions`: smtp_generic_maps carries an unmatched extension over. */
      propagateGeneric?: boolean;
    },
  ) {
    this.myoriginLower = settings.myorigin.toLowerCase();
    const rp = resolveParams;
    const originLower = this.myoriginLower;
    this.env = {
      split: extensionSplit(settings.delimiter, settings.ownerRequestSpecial, settings.doubleBounceSender),
      isLocal: (domain: string, lk: Lookup) => domain.toLowerCase() === originLower || isLocalDomain(rp, domain, lk.ctx),
      rewriteLocal: (ext: string) => rewriteExternal(rewriteParams, 'local', ext),
    };
    this.mailerDaemonCanon = rewriteAddress(rewriteParams, 'local', 'MAILER-DAEMON').toLowerCase();
    const lists = [rp.mydestination, rp.virtualAliasDomains, rp.virtualMailboxDomains, rp.relayDomains];
    this.isSync =
      lists.every((l) => l === undefined || l.isSync) &&
      PIPELINE_TABLE_PARAMETERS.every((n) => allSync(tables[n])) &&
      ((masqueradeParams.exceptions as MatchList | undefined)?.isSync ?? true);
    this.fast = this.isSync
      ? EnvelopeFastPath.create(canonicalParams, canonicalTables, masqueradeParams, virtualParams, tables.virtual_alias_maps, this.env, isLocalDomainStable(rp), (d) => resolveDomainTemplate(rp, d))
      : undefined;
  }

  /* ----------------------------------------------------------------------------------- */
  /* Automatic BCC                                                                        */
  /* ----------------------------------------------------------------------------------- */

  /**
   * `sender_bcc_maps` for a message's envelope sender as {@link rewriteSender} returns it
   * (internal form; none for the null sender). Throws MapError on a table failure.
   */
  async senderBcc(sender: string): Promise<BccHit | undefined> {
    return withLookups((lk) => lookupBcc(this.tables.sender_bcc_maps, this.env, sender, 'sender_bcc_maps', lk));
  }

  /**
   * `recipient_bcc_maps` for an envelope recipient after canonical mapping and masquerading —
   * the `canonical` of {@link rewriteRecipientCleanup}. Throws MapError on a table failure.
   */
  async recipientBcc(canonical: string): Promise<BccHit | undefined> {
    return withLookups((lk) => lookupBcc(this.tables.recipient_bcc_maps, this.env, canonical, 'recipient_bcc_maps', lk));
  }

  /** `always_bcc` (as written; `''` when unset): cleanup adds it to every new message. */
  get alwaysBcc(): string {
    return this.settings.alwaysBcc ?? '';
  }

  /* ----------------------------------------------------------------------------------- */
  /* Generic mapping (SMTP client)                                                        */
  /* ----------------------------------------------------------------------------------- */

  /**
   * `smtp_generic_maps` for one address of mail leaving by SMTP — the envelope sender or a
   * recipient (internal form, as queued). Throws MapError on a table failure.
   */
  async rewriteGeneric(addr: string): Promise<GenericResult> {
    return withLookups((lk) => mapGeneric(this.tables.smtp_generic_maps, addr, this.settings.propagateGeneric === true, this.env, lk));
  }

  /**
   * `smtp_generic_maps` over the address headers (sender and recipient headers alike) of a
   * header block, as the SMTP client sends it; a header whose addresses do not change is kept
   * byte for byte. A table failure gives `defer`.
   */
  async rewriteGenericHeaders(block: string, o: { trace?: boolean } = {}): Promise<HeadersResult> {
    const trace = o.trace ? [] : undefined;
    return withLookups((lk) => this.headersCore(block, 'local', lk, trace, true, true), trace);
  }

  /* ----------------------------------------------------------------------------------- */
  /* Envelope sender                                                                      */
  /* ----------------------------------------------------------------------------------- */

  /** Envelope sender, as cleanup rewrites it (any tables). */
  async rewriteSender(addr: string, o: CallOptions = NO_OPTIONS): Promise<SenderResult> {
    if (this.isSync) return this.rewriteSenderSync(addr, o);
    const trace = o.trace ? [] : undefined;
    return this.guard(addr, () => withLookups((lk) => this.senderCore(addr, o, lk, trace), trace));
  }

  /** Envelope sender, synchronously (requires {@link isSync}). */
  rewriteSenderSync(addr: string, o: CallOptions = NO_OPTIONS): SenderResult {
    return this.senderCore(addr, o, DIRECT, o.trace ? [] : undefined);
  }

  private senderCore(addr: string, o: CallOptions, lk: Lookup, trace: Trace | undefined): SenderResult {
    const input = o.external ? unquoteInput(addr) : addr;
    if (trace) trace.push({ stage: 'input', input: addr, output: input });
    let a = input.length === 0 ? '' : rewriteAddress(this.rewriteParams, 'local', input);
    if (trace && a !== input) trace.push({ stage: 'rewrite', input, output: a, note: 'context local' });
    // MAILER-DAEMON@<canonical form of MAILER-DAEMON> is the null sender.
    if (a.length > 14 && a.charCodeAt(13) === 0x40 /* @ */ && a.toLowerCase() === this.mailerDaemonCanon) {
      if (trace) trace.push({ stage: 'null-sender', input: a, output: '' });
      a = '';
    }
    const res: SenderResult = { address: a, external: '' };
    const fast = trace === undefined && lk === DIRECT && this.fast !== undefined && o.mappings !== false ? this.fast.sender(a) : undefined;
    if (fast !== undefined) {
      res.address = fast;
      res.external = quote822Local(fast, QUOTE_DEFAULT);
      return res;
    }
    if (o.mappings !== false) {
      const c = canonicalize(this.canonicalParams, this.canonicalTables, this.env, a, AddrClass.ENVELOPE_SENDER, lk, trace);
      a = c.addr;
      if (c.warnings) res.warnings = c.warnings;
      if (c.defer) res.defer = c.defer;
      else if (this.masqueradeParams.classes & AddrClass.ENVELOPE_SENDER) {
        const m = masquerade(this.masqueradeParams, a, lk, trace);
        a = m.addr;
        if (m.defer) res.defer = m.defer;
      }
    }
    res.address = a;
    res.external = a.length === 0 ? '' : quote822Local(a, QUOTE_DEFAULT);
    if (trace) {
      trace.push({ stage: 'result', input: addr, output: a });
      res.trace = trace;
    }
    return res;
  }

  /* ----------------------------------------------------------------------------------- */
  /* Envelope recipient                                                                   */
  /* ----------------------------------------------------------------------------------- */

  /** Envelope recipient: cleanup's processing, then resolve for each final recipient. */
  async rewriteRecipient(addr: string, o: CallOptions = NO_OPTIONS): Promise<RecipientResult> {
    // alias_maps count only when local delivery is asked for (they are not in isSync).
    if (this.isSync && (!o.aliases || this.aliasSync)) return this.rewriteRecipientSync(addr, o);
    const trace = o.trace ? [] : undefined;
    return this.guard(addr, async () => {
      const r = await withLookups((lk) => this.recipientCleanup(addr, o, lk, trace), trace);
      const finals: FinalRecipient[] = [];
      for (const a of r.addrs) {
        const mark = trace?.length ?? 0;
        const sp = o.sender !== undefined ? this.settings.senderResolveParams : undefined;
        const resolved = sp !== undefined ? await resolveAddressAsync(sp, a, o.sender) : await resolveAddressAsync(this.resolveParams, a);
        finals.push(await withLookups((lk) => {
          if (trace) trace.length = mark;
          return this.route(a, resolved, lk, trace);
        }, trace));
      }
      if (o.aliases && !r.defer) {
        const orcpt = o.external ? unquoteInput(addr) : addr;
        for (const f of finals) await this.localDeliveryAsync(f, orcpt, o.sender ?? '', trace, new Set(), 0);
      }
      return this.finishRecipient(r, finals, trace);
    });
  }

  /** True when every alias_maps table answers synchronously. */
  private get aliasSync(): boolean {
    return allSync(this.aliasTables);
  }

  /** Envelope recipient, synchronously (requires {@link isSync}). */
  rewriteRecipientSync(addr: string, o: CallOptions = NO_OPTIONS): RecipientResult {
    const trace = o.trace ? [] : undefined;
    const r = this.recipientCleanup(addr, o, DIRECT, trace);
    const finals: FinalRecipient[] = new Array(r.addrs.length);
    const sp = o.sender !== undefined ? this.settings.senderResolveParams : undefined;
    if (sp !== undefined) {
      for (let i = 0; i < r.addrs.length; i++) finals[i] = this.route(r.addrs[i]!, resolveAddress(sp, r.addrs[i]!, o.sender), DIRECT, trace);
    } else {
      // Without a trace the fast path knows resolve's answer for most addresses by their domain.
      const fast = trace === undefined ? this.fast : undefined;
      for (let i = 0; i < r.addrs.length; i++) {
        const a = r.addrs[i]!;
        const t = fast?.resolvedTemplate(a);
        finals[i] = t !== undefined ? this.route(a, t, DIRECT, trace, a) : this.route(a, resolveAddress(this.resolveParams, a), DIRECT, trace);
      }
    }
    if (o.aliases && !r.defer) {
      const orcpt = o.external ? unquoteInput(addr) : addr;
      for (const f of finals) this.localDelivery(f, orcpt, o.sender ?? '', trace, new Set(), 0);
    }
    return this.finishRecipient(r, finals, trace);
  }

  /** The service name of the local delivery agent (`local` for `local:$myhostname`). */
  private get localService(): string {
    const t = this.resolveParams.localTransport;
    const c = t.indexOf(':');
    return c < 0 ? t : t.slice(0, c);
  }

  /**
   * local(8) for one local recipient: Delivered-To loop check, alias expansion; forwarded
   * addresses go through the pipeline again as a new message (sender rewritten too).
   */
  private localDelivery(f: FinalRecipient, original: string, sender: string, trace: Trace | undefined, delivered: Set<string>, depth: number, dupFilter: Set<string> = new Set()): void {
    const deliveries = this.expandLocal(f, original, sender, trace, delivered, dupFilter, DIRECT);
    if (deliveries === undefined) return;
    const seenHere = new Set(delivered).add(f.address.toLowerCase());
    // The addresses forwarded by one expansion travel in one new message, delivered together.
    const forwardedDups = new Set<string>();
    for (const d of deliveries) {
      if (d.kind !== 'forward') continue;
      if (depth >= 20) {
        d.forwarded = [];
        continue;
      }
      const s = d.sender === '' ? '' : this.rewriteSenderSync(d.sender).address;
      const rr = this.rewriteRecipientSync(d.recipient, { trace: false });
      for (const x of rr.recipients) this.localDelivery(x, d.original, s, trace, seenHere, depth + 1, forwardedDups);
      d.forwarded = rr.recipients;
      d.sender = s;
    }
    f.local = deliveries;
  }

  /** {@link localDelivery} with any alias tables (MySQL …): lookups through the async replay. */
  private async localDeliveryAsync(f: FinalRecipient, original: string, sender: string, trace: Trace | undefined, delivered: Set<string>, depth: number, dupFilter: Set<string> = new Set()): Promise<void> {
    // Each replay starts from the duplicate filter as it was before this expansion.
    let filter = dupFilter;
    const deliveries = await withLookups((lk) => {
      filter = new Set(dupFilter);
      return this.expandLocal(f, original, sender, trace, delivered, filter, lk);
    }, trace);
    for (const k of filter) dupFilter.add(k);
    if (deliveries === undefined) return;
    const seenHere = new Set(delivered).add(f.address.toLowerCase());
    const forwardedDups = new Set<string>();
    for (const d of deliveries) {
      if (d.kind !== 'forward') continue;
      if (depth >= 20) {
        d.forwarded = [];
        continue;
      }
      const s = d.sender === '' ? '' : (await this.rewriteSender(d.sender)).address;
      const rr = await this.rewriteRecipient(d.recipient, { trace: false });
      for (const x of rr.recipients) await this.localDeliveryAsync(x, d.original, s, trace, seenHere, depth + 1, forwardedDups);
      d.forwarded = rr.recipients;
      d.sender = s;
    }
    f.local = deliveries;
  }

  /**
   * The alias expansion of one local recipient (pure over `lk`): undefined when the recipient
   * is not for local(8); a 5.4.6 bounce on a forwarding loop (set in `f.local`).
   */
  private expandLocal(f: FinalRecipient, original: string, sender: string, trace: Trace | undefined, delivered: Set<string>, dupFilter: Set<string>, lk: Lookup): LocalDelivery[] | undefined {
    if (f.outcome || f.transport !== this.localService) return undefined;
    const key = f.address.toLowerCase();
    if (delivered.has(key)) {
      f.local = [{ kind: 'bounce', recipient: f.address, status: '5.4.6', text: `mail forwarding loop for ${f.address}`, original }];
      return undefined;
    }
    const env = {
      tables: this.aliasTables,
      readInclude: this.settings.readInclude,
      readForward: this.settings.readForward,
      resolve: (a: string, l: Lookup) => {
        const canon = rewriteAddress(this.rewriteParams, 'local', a);
        const r = this.route(canon, resolveAddress(this.resolveParams, canon), l, undefined);
        return { address: r.address, local: !r.outcome && r.transport === this.localService };
      },
    };
    return expandAliases(this.aliasParams, env, { recipient: f.address, original, sender }, lk, trace, dupFilter) as LocalDelivery[];
  }

  /**
   * Cleanup's part only (no resolve): rewrite, canonical maps, masquerade, virtual alias
   * expansion and duplicate elimination. The addresses to queue, in internal form.
   */
  rewriteRecipientCleanupSync(addr: string, o: CallOptions = NO_OPTIONS): {
    /** After rewrite, canonical maps and masquerading, before virtual aliasing (internal form). */
    canonical: string;
    /** The addresses to queue: virtual alias expansion, duplicates removed (internal form). */
    addrs: string[];
    /** The message cannot be accepted now (table failure, alias expansion limits). */
    defer?: Deferral;
    /** Postfix's canonical maps warnings (`multi-valued … entry`, `unreasonable … map nesting`). */
    warnings?: string[];
    /** Every table probe and stage outcome, in order (only with `trace: true`). */
    trace?: Trace;
  } {
    const trace = o.trace ? [] : undefined;
    const r = this.recipientCleanup(addr, o, DIRECT, trace);
    if (trace) r.trace = trace;
    return r;
  }

  /**
   * All envelope recipients of one message: {@link rewriteRecipient} for each, then cleanup's
   * duplicate filter across the message (case-insensitive, `duplicate_filter_limit`; the key
   * includes the original recipient when `enable_original_recipient = yes`): a repeated final
   * recipient is dropped (reported in `duplicates`). A deferral of any recipient defers the
   * whole message (see `defer`).
   */
  async rewriteRecipients(addrs: readonly string[], o: CallOptions = NO_OPTIONS): Promise<{
    /** One result per envelope recipient, in order; `recipients` without the message-wide duplicates. */
    results: RecipientResult[];
    /** Final recipients dropped as duplicates of earlier ones, in order. */
    duplicates: string[];
    /** The first deferral among the recipients: the whole message cannot be accepted now. */
    defer?: Deferral;
  }> {
    const results: RecipientResult[] = [];
    for (const a of addrs) results.push(await this.rewriteRecipient(a, o));
    return this.dedupe(results);
  }

  /** {@link rewriteRecipients}, synchronously (requires {@link isSync}). */
  rewriteRecipientsSync(addrs: readonly string[], o: CallOptions = NO_OPTIONS): {
    /** One result per envelope recipient, in order; `recipients` without the message-wide duplicates. */
    results: RecipientResult[];
    /** Final recipients dropped as duplicates of earlier ones, in order. */
    duplicates: string[];
    /** The first deferral among the recipients: the whole message cannot be accepted now. */
    defer?: Deferral;
  } {
    return this.dedupe(addrs.map((a) => this.rewriteRecipientSync(a, o)));
  }

  private dedupe(results: RecipientResult[]): { results: RecipientResult[]; duplicates: string[]; defer?: Deferral } {
    const dups = new DuplicateFilter(this.settings.duplicateFilterLimit);
    const duplicates: string[] = [];
    let defer: Deferral | undefined;
    for (const r of results) {
      defer ??= r.defer;
      // With enable_original_recipient the original recipient is part of the key: the same
      // final address reached from two different envelope recipients is delivered twice.
      const orig = this.settings.enableOriginalRecipient ? r.original + '\n' : '';
      r.recipients = r.recipients.filter((f) => {
        if (!dups.check(orig + f.address)) return true;
        duplicates.push(f.address);
        return false;
      });
    }
    return defer ? { results, duplicates, defer } : { results, duplicates };
  }

  /** {@link rewriteRecipientCleanupSync} with any tables (what cleanup queues). */
  async rewriteRecipientCleanup(addr: string, o: CallOptions = NO_OPTIONS): Promise<{
    /** After rewrite, canonical maps and masquerading, before virtual aliasing (internal form). */
    canonical: string;
    /** The addresses to queue: virtual alias expansion, duplicates removed (internal form). */
    addrs: string[];
    /** The message cannot be accepted now (table failure, alias expansion limits). */
    defer?: Deferral;
    /** Postfix's canonical maps warnings (`multi-valued … entry`, `unreasonable … map nesting`). */
    warnings?: string[];
    /** Every table probe and stage outcome, in order (only with `trace: true`). */
    trace?: Trace;
  }> {
    if (this.isSync) return this.rewriteRecipientCleanupSync(addr, o);
    const trace = o.trace ? [] : undefined;
    const r = await this.guard(addr, () => withLookups((lk) => this.recipientCleanup(addr, o, lk, trace), trace));
    if (trace) r.trace = trace;
    return r;
  }

  private recipientCleanup(addr: string, o: CallOptions, lk: Lookup, trace: Trace | undefined): { original: string; canonical: string; addrs: string[]; defer?: Deferral; warnings?: string[]; trace?: Trace } {
    const input0 = o.external ? unquoteInput(addr) : addr;
    if (trace) trace.push({ stage: 'input', input: addr, output: input0 });
    // An empty recipient becomes $empty_address_recipient before rewriting.
    const input = input0.length === 0 ? this.settings.emptyAddressRecipient : input0;
    const fast = trace === undefined && lk === DIRECT ? this.fast : undefined;
    let a = fast !== undefined && fast.unchangedByRewrite(input) ? input : rewriteAddress(this.rewriteParams, 'local', input);
    if (trace && a !== input0) trace.push({ stage: 'rewrite', input: input0, output: a, note: 'context local' });
    if (o.mappings === false) {
      if (trace) trace.push({ stage: 'result', input: a, note: 'no_address_mappings: no canonical, masquerade or virtual alias mapping' });
      return { original: addr, canonical: a, addrs: [a] };
    }
    if (fast !== undefined) {
      const list = fast.recipient(a);
      if (list !== undefined) {
        const done = { original: addr, canonical: fast.canonicalAddress, addrs: list };
        return this.withoutDuplicates(done, list, undefined);
      }
    }
    const out: { original: string; canonical: string; addrs: string[]; defer?: Deferral; warnings?: string[] } = { original: addr, canonical: a, addrs: [] };
    const c = canonicalize(this.canonicalParams, this.canonicalTables, this.env, a, AddrClass.ENVELOPE_RECIPIENT, lk, trace);
    a = c.addr;
    if (c.warnings) out.warnings = c.warnings;
    if (c.defer) {
      out.defer = c.defer;
      out.canonical = a;
      out.addrs = [a];
      return out;
    }
    if (this.masqueradeParams.classes & AddrClass.ENVELOPE_RECIPIENT) {
      const m = masquerade(this.masqueradeParams, a, lk, trace);
      a = m.addr;
      if (m.defer) {
        out.defer = m.defer;
        out.canonical = a;
        out.addrs = [a];
        return out;
      }
    }
    out.canonical = a;
    const v = expandVirtualAlias(this.virtualParams, this.tables.virtual_alias_maps, this.env, a, lk, trace);
    if (v.defer) out.defer = v.defer;
    return this.withoutDuplicates(out, v.addrs, trace);
  }

  /** Cleanup's duplicate elimination of an expansion into `out.addrs` (been_here, case-insensitive). */
  private withoutDuplicates<T extends { addrs: string[] }>(out: T, list: string[], trace: Trace | undefined): T {
    if (list.length === 1) {
      out.addrs = list;
      return out;
    }
    out.addrs = [];
    const dups = new DuplicateFilter(this.settings.duplicateFilterLimit);
    for (const x of list) {
      if (dups.check(x)) {
        if (trace) trace.push({ stage: 'duplicate', input: x, note: 'duplicate recipient removed' });
      } else out.addrs.push(x);
    }
    return out;
  }

  /**
   * qmgr's view of one queued recipient: resolve, transport_maps, relocated_maps. `plain`: `r`
   * is a domain's template (resolve.ts resolveDomainTemplate) for this plain address, which
   * is its recipient and needs no quoting.
   */
  private route(a: string, r: ResolveResult, lk: Lookup, trace: Trace | undefined, plain?: string): FinalRecipient {
    const rcpt = plain ?? r.recipient;
    const f: FinalRecipient = {
      address: rcpt,
      external: plain !== undefined ? plain : rcpt.length === 0 ? '""' : quote822Local(rcpt, QUOTE_DEFAULT),
      addressClass: r.addressClass,
      transport: r.transport,
      nexthop: r.nexthop,
      flags: r.flags,
    };
    if (trace) trace.push({ stage: 'resolve', input: a, output: rcpt, note: `class ${r.addressClass ?? '-'}, transport ${r.transport ?? '-'}, nexthop ${r.nexthop ?? '-'}${r.failure ? `, failure: ${r.failure}` : ''}` });
    if (r.failure !== undefined || r.transport === undefined || r.nexthop === undefined) {
      f.outcome = r.error ? { kind: 'bounce', status: r.error.status, text: r.error.text } : { kind: 'defer', status: '4.3.0', text: 'address resolver failure' };
      return f;
    }
    try {
      if (r.addressClass !== 'alias' && this.tables.transport_maps.length > 0) {
        const hit = lookupTransport({ parentMatchesSubdomains: this.settings.transportParentStyle }, this.tables.transport_maps, this.env, rcpt, { transport: f.transport!, nexthop: f.nexthop! }, lk, trace);
        if (hit) {
          f.transport = hit.transport;
          f.nexthop = hit.nexthop;
          f.transportTable = { table: hit.table, key: hit.key, value: hit.value };
          if (trace) trace.push({ stage: 'transport_maps', table: hit.table, key: hit.key, input: rcpt, output: `${hit.transport}:${hit.nexthop}` });
        }
      }
      if (this.tables.relocated_maps.length > 0) {
        const moved = lookupRelocated(this.tables.relocated_maps, this.env, rcpt, lk, trace);
        if (moved) {
          f.transport = 'error';
          f.nexthop = moved.nexthop;
          f.relocated = { table: moved.table, key: moved.key, value: moved.newLocation };
        }
      }
    } catch (e) {
      if (!isTableError(e)) throw e;
      f.transport = undefined;
      f.nexthop = undefined;
      f.flags |= ResolveFlags.FAIL;
      f.outcome = { kind: 'defer', status: '4.3.0', text: 'address resolver failure' };
      if (trace) trace.push({ stage: 'result', input: rcpt, note: `lookup failure: ${(e as Error).message}` });
      return f;
    }
    if (r.error) f.outcome = { kind: 'bounce', status: r.error.status, text: r.error.text };
    else if (f.transport === 'error' || f.transport === 'retry') f.outcome = statusFromText(f.transport === 'error' ? 'bounce' : 'defer', f.nexthop!);
    return f;
  }

  private finishRecipient(r: { original: string; canonical: string; defer?: Deferral; warnings?: string[] }, finals: FinalRecipient[], trace: Trace | undefined): RecipientResult {
    const out: RecipientResult = { original: r.original, canonical: r.canonical, recipients: finals };
    if (r.defer) out.defer = r.defer;
    if (r.warnings) out.warnings = r.warnings;
    if (trace) {
      trace.push({ stage: 'result', input: r.original, output: finals.map((f) => f.address) });
      out.trace = trace;
    }
    return out;
  }

  /* ----------------------------------------------------------------------------------- */
  /* Headers                                                                              */
  /* ----------------------------------------------------------------------------------- */

  /**
   * Rewrite the address headers of a header block (the message text up to the empty line;
   * anything after it is returned unchanged). Sender-type headers get sender canonical maps,
   * recipient-type headers recipient canonical maps; never virtual aliasing. A header whose
   * addresses do not change is kept byte for byte.
   */
  async rewriteHeaders(block: string, o: HeaderOptions): Promise<HeadersResult> {
    if (this.isSync) return this.rewriteHeadersSync(block, o);
    const trace = o.trace ? [] : undefined;
    return withLookups((lk) => this.headersCore(block, o.context, lk, trace, o.mappings !== false), trace);
  }

  /** {@link rewriteHeaders}, synchronously (requires {@link isSync}). */
  rewriteHeadersSync(block: string, o: HeaderOptions): HeadersResult {
    return this.headersCore(block, o.context, DIRECT, o.trace ? [] : undefined, o.mappings !== false);
  }

  /** The effective context: `remote` without remote_header_rewrite_domain means no rewriting. */
  headerContext(context: HeaderContext): HeaderContext {
    return context === 'remote' && this.settings.remoteHeaderDomain === '' ? 'none' : context;
  }

  private headersCore(block: string, context0: HeaderContext, lk: Lookup, trace: Trace | undefined, mappings = true, generic = false): HeadersResult {
    const context = generic ? 'local' : this.headerContext(context0);
    const res: HeadersResult = { headers: block, changed: false, rewritten: [] };
    if (trace) res.trace = trace;
    if (context === 'none') {
      if (trace) trace.push({ stage: 'input', note: context0 === 'remote' ? 'remote client and empty remote_header_rewrite_domain: headers not rewritten' : 'header rewriting off' });
      return res;
    }
    const rw: RewriteContext = context;
    const parts = splitHeaderBlock(block);
    let changed = false;
    const warnings: Warning[] = [];
    for (const h of parts.headers) {
      const info = HEADER_CLASS.get(h.name.toLowerCase());
      if (info === undefined) continue;
      const mapper = (internal: string): string | undefined => {
        if (res.defer) return undefined;
        if (generic) return this.genericHeaderAddress(internal, res, warnings, lk, trace);
        let a = internal.length === 0 ? internal : rewriteAddress(this.rewriteParams, rw, internal);
        if (trace && a !== internal) trace.push({ stage: 'rewrite', input: internal, output: a, note: `${info.name}: context ${rw}` });
        if (!mappings) return a;
        const c = canonicalize(this.canonicalParams, this.canonicalTables, this.env, a, info.cls, lk, trace);
        a = c.addr;
        if (c.defer) {
          res.defer = c.defer;
          return undefined;
        }
        if (this.masqueradeParams.classes & info.cls) {
          const m = masquerade(this.masqueradeParams, a, lk, trace);
          if (m.defer) {
            res.defer = m.defer;
            return undefined;
          }
          a = m.addr;
        }
        return a;
      };
      // Regenerated and folded as cleanup does (name given), byte-identical when unchanged.
      const eol = h.eol === '' ? parts.eol : h.eol;
      const r = rewriteHeaderAddresses(h.value, mapper, {
        tokenLimit: this.settings.headerTokenLimit,
        name: h.name,
        newline: eol,
        onWarning: (w) => warnings.push(w),
      });
      if (res.defer) break;
      if (r.changed) {
        changed = true;
        h.text = `${h.name}: ${r.value}${h.eol}`;
        res.rewritten.push(h.name);
        if (trace) trace.push({ stage: 'result', input: h.name, output: h.text, note: 'header regenerated' });
      }
    }
    if (warnings.length) res.warnings = warnings;
    if (res.defer || !changed) return res;
    res.changed = true;
    res.headers = parts.headers.map((h) => h.text).join('') + parts.rest;
    return res;
  }

  /** One header address through smtp_generic_maps; a table failure sets `res.defer`. */
  private genericHeaderAddress(internal: string, res: HeadersResult, warnings: Warning[], lk: Lookup, trace: Trace | undefined): string | undefined {
    try {
      const g = mapGeneric(this.tables.smtp_generic_maps, internal, this.settings.propagateGeneric === true, this.env, lk, trace);
      if (g.warning) warnings.push({ code: 'GENERIC_MULTI_VALUED', message: g.warning });
      return g.address;
    } catch (e) {
      if (!isTableError(e)) throw e;
      res.defer = { kind: 'defer', code: 451, status: '4.3.0', text: 'Error: queue file write error', reason: (e as Error).message };
      return undefined;
    }
  }

  /** Turn unexpected exceptions (bugs in glue, foreign tables) into a deferral. */
  private async guard<T extends { defer?: Deferral }>(addr: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      return { address: addr, external: addr, original: addr, canonical: addr, addrs: [addr], recipients: [], defer: { kind: 'defer', code: 451, status: '4.3.0', text: 'Error: queue file write error', reason: e.message } } as unknown as T;
    }
  }
}

/** Bounce/defer status from an error/retry nexthop such as `5.1.1 User unknown`. */
function statusFromText(kind: 'bounce' | 'defer', text: string): RecipientOutcome {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/.exec(text);
  if (m) return { kind, status: `${m[1]}.${m[2]}.${m[3]}`, text: text.slice(m[0].length) };
  return { kind, status: kind === 'bounce' ? '5.0.0' : '4.0.0', text };
}

/** External → internal form for an envelope address given as in SMTP (`<>` is the null address). */
function unquoteInput(addr: string): string {
  let a = addr;
  if (a.charCodeAt(0) === 0x3c /* < */ && a.charCodeAt(a.length - 1) === 0x3e /* > */) a = a.slice(1, -1);
  if (a.indexOf('"') < 0 && a.indexOf('\\') < 0) return a;
  // Same as Postfix's unquote_822_local for the local part.
  let out = '';
  let inQuote = false;
  let atOut = -1;
  let atSrc = -1;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c === 0x22) { inQuote = !inQuote; continue; }
    if (c === 0x40 && !inQuote) { atOut = out.length; atSrc = i; }
    if (c === 0x5c) { i++; if (i >= a.length) break; }
    out += a[i];
  }
  return atOut >= 0 ? out.slice(0, atOut) + a.slice(atSrc) : out;
}

interface HeaderPart {
  name: string;
  /** Text after `Name:` up to (not including) the final line ending. */
  value: string;
  /** Final line ending of this header (`\r\n`, `\n` or `''` at the end of input). */
  eol: string;
  /** The whole header as it will be written. */
  text: string;
}

/** Split a header block into headers (with their folding) and the rest (empty line + body). */
export function splitHeaderBlock(block: string): {
  /** The headers in order, each with its continuation lines. */
  headers: HeaderPart[];
  /** Everything from the empty line on (empty line and body); `''` when there is none. */
  rest: string;
  /** The block's line ending: `\r\n` when its first line ends so, else `\n`. */
  eol: string;
} {
  const headers: HeaderPart[] = [];
  let pos = 0;
  let eol = '\n';
  const crlf = block.indexOf('\r\n');
  if (crlf >= 0 && crlf === block.indexOf('\n') - 1) eol = '\r\n';
  while (pos < block.length) {
    const c = block.charCodeAt(pos);
    if (c === 0x0a /* LF */ || (c === 0x0d /* CR */ && block.charCodeAt(pos + 1) === 0x0a)) break; // empty line
    // One header: this line plus continuation lines (starting with space or TAB).
    let end = pos;
    for (;;) {
      const nl = block.indexOf('\n', end);
      if (nl < 0) { end = block.length; break; }
      end = nl + 1;
      const n = block.charCodeAt(end);
      if (n !== 0x20 && n !== 0x09) break;
    }
    const text = block.slice(pos, end);
    const lineEnd = text.endsWith('\r\n') ? '\r\n' : text.endsWith('\n') ? '\n' : '';
    const body = text.slice(0, text.length - lineEnd.length);
    const colon = body.indexOf(':');
    const name = colon > 0 ? body.slice(0, colon).trimEnd() : '';
    headers.push({ name, value: colon > 0 ? body.slice(colon + 1) : '', eol: lineEnd, text });
    pos = end;
  }
  return { headers, rest: block.slice(pos), eol };
}

/* ------------------------------------------------------------------------------------- */
/* Construction from a configuration                                                      */
/* ------------------------------------------------------------------------------------- */

/**
 * Build the pipeline from a configuration: opens every table-valued parameter (or takes the
 * given tables) and compiles the parameters. Throws ConfigError for bad class names and
 * MapError when a table cannot be opened — configuration problems, found once, up front.
 *
 * @example
 * const rw = await createRewriter(loadConfig({ configDir: '/etc/postfix' }));
 * const r = await rw.rewriteRecipient('tom@test.net', { trace: true });
 */
export async function createRewriter(config0: Config, opts: RewriterOptions = {}): Promise<Rewriter> {
  // Given tables stand for their parameter everywhere it is used, e.g. the default
  // virtual_alias_domains = $virtual_alias_maps.
  const overrides: Record<string, string> = {};
  for (const p of PIPELINE_TABLE_PARAMETERS) {
    const t = opts.tables?.[p];
    // The names are not main.cf text: a '$' in one (a regexp's end anchor) is literal.
    if (t) overrides[p] = t.map((x) => x.name.replaceAll('$', '$$$$')).join(', ');
  }
  const config = Object.keys(overrides).length ? config0.withOverrides(overrides) : config0;
  const configDir = config.configDir;
  const open = opts.openTable ?? ((spec: string) => registryOpenTable(spec, configDir ? { configDir } : {}));
  const opened = new Map<string, Table>();
  const openOnce = async (spec: string): Promise<Table> => {
    let t = opened.get(spec);
    if (!t) opened.set(spec, (t = await open(spec)));
    return t;
  };
  const tables = {} as Record<PipelineTableParameter, readonly Table[]>;
  for (const p of PIPELINE_TABLE_PARAMETERS) {
    const given = opts.tables?.[p];
    if (given) tables[p] = given;
    else {
      const list: Table[] = [];
      for (const spec of config.list(p)) list.push(await openOnce(spec));
      tables[p] = list;
    }
  }
  // The domain lists share the opened tables (virtual_alias_domains = $virtual_alias_maps).
  const given = new Map<string, Table>();
  for (const p of PIPELINE_TABLE_PARAMETERS) {
    const specs = config.list(p);
    tables[p].forEach((t, i) => {
      given.set(t.name, t);
      if (specs[i] !== undefined) given.set(specs[i]!, t);
    });
  }
  // Resolve with the sender-dependent tables when the caller names a sender, without otherwise.
  const senderResolveParams = await resolveParamsFromConfig(config, {
    ...opts.resolve,
    openTable: opts.resolve?.openTable ?? (async (spec: string) => given.get(spec) ?? openOnce(spec)),
    senderMaps: true,
  });
  const resolveParams: ResolveParams = { ...senderResolveParams, senderDependentDefaultTransport: undefined, senderDependentRelayhost: undefined };
  const senderDependent = senderResolveParams.senderDependentDefaultTransport !== undefined || senderResolveParams.senderDependentRelayhost !== undefined;
  const classes = (name: string): number => parseClasses(name, config.list(name));
  const propagate = new Set(config.list('propagate_unmatched_extensions').map((s) => s.toLowerCase()));
  const exceptionsValue = config.get('masquerade_exceptions');
  const exceptions =
    exceptionsValue.trim() === ''
      ? undefined
      : await openMatchList(exceptionsValue, 'string', { name: 'masquerade_exceptions', openTable: openOnce, readFile: (p) => readFileSync(p, 'utf8') });
  const canonicalTables: CanonicalTables = { canonical: tables.canonical_maps, sender: tables.sender_canonical_maps, recipient: tables.recipient_canonical_maps };
  let aliasTables = opts.aliasTables;
  if (!aliasTables) {
    const list: Table[] = [];
    for (const spec of config.list('alias_maps')) {
      try {
        list.push(await openOnce(spec));
      } catch {
        // e.g. Debian's default nis:mail.aliases: Postfix skips what it cannot open here too.
      }
    }
    aliasTables = list;
  }
  const allow = (name: string): Set<'alias' | 'forward' | 'include'> =>
    new Set(config.list(name).map((x) => x.toLowerCase()).filter((x): x is 'alias' | 'forward' | 'include' => x === 'alias' || x === 'forward' || x === 'include'));
  const int = (name: string, dflt: number): number => {
    const v = config.get(name);
    return v === '' ? dflt : config.int(name);
  };
  return new Rewriter(
    rewriteParamsFromConfig(config),
    resolveParams,
    {
      classes: classes('canonical_classes'),
      senderClasses: classes('sender_canonical_classes'),
      recipientClasses: classes('recipient_canonical_classes'),
      propagate: propagate.has('canonical'),
    },
    canonicalTables,
    { domains: masqueradeDomains(config.list('masquerade_domains')), exceptions, classes: classes('masquerade_classes') },
    {
      recursionLimit: int('virtual_alias_recursion_limit', 1000),
      expansionLimit: int('virtual_alias_expansion_limit', 1000),
      addressLengthLimit: int('virtual_alias_address_length_limit', 1000),
      propagate: propagate.has('virtual'),
    },
    tables,
    {
      split: extensionSplit(config.get('recipient_delimiter'), config.bool('owner_request_special'), config.get('double_bounce_sender') || 'double-bounce'),
      propagateAlias: propagate.has('alias'),
      propagateInclude: propagate.has('include'),
      propagateForward: propagate.has('forward'),
      ownerRequestSpecial: config.bool('owner_request_special'),
      expandOwnerAlias: config.bool('expand_owner_alias'),
      allowCommands: allow('allow_mail_to_commands'),
      allowFiles: allow('allow_mail_to_files'),
      duplicateFilterLimit: int('duplicate_filter_limit', 1000),
    },
    aliasTables,
    {
      delimiter: config.get('recipient_delimiter'),
      ownerRequestSpecial: config.bool('owner_request_special'),
      doubleBounceSender: config.get('double_bounce_sender') || 'double-bounce',
      emptyAddressRecipient: config.get('empty_address_recipient') || 'MAILER-DAEMON',
      duplicateFilterLimit: int('duplicate_filter_limit', 1000),
      headerTokenLimit: int('header_address_token_limit', 10240),
      transportParentStyle: config.list('parent_domain_matches_subdomains').includes('transport_maps'),
      remoteHeaderDomain: config.get('remote_header_rewrite_domain'),
      myorigin: rewriteParamsFromConfig(config).myorigin,
      readInclude: opts.readInclude ?? ((p: string) => readFileSync(p, 'utf8')),
      readForward: opts.readForward,
      enableOriginalRecipient: config.bool('enable_original_recipient'),
      senderResolveParams: senderDependent ? senderResolveParams : undefined,
      alwaysBcc: config.get('always_bcc').trim(),
      propagateGeneric: propagate.has('generic'),
    },
  );
}

/** Stages a recipient trace can contain, in order (for display). */
export const RECIPIENT_STAGES: readonly Stage[] = [
  'input', 'rewrite', 'recipient_canonical_maps', 'canonical_maps', 'masquerade', 'virtual_alias_maps', 'duplicate', 'resolve', 'transport_maps', 'relocated_maps', 'result',
];
