/**
 * The cleanup rewrite pipeline assembled from src/route's stages, in Postfix cleanup's order:
 * envelope sender: trivial-rewrite (local) → MAILER-DAEMON → null sender →
 * `sender_canonical_maps` → `canonical_maps` → masquerade (`masquerade_classes`);
 * envelope recipient: trivial-rewrite (local) → `recipient_canonical_maps` → `canonical_maps`
 * → masquerade (if classed) → `virtual_alias_maps` expansion; header addresses: trivial-rewrite
 * in the header context → canonical (header classes) → masquerade, never virtual alias.
 * A table failure becomes a MapError, which cleanup turns into `451 4.3.0`.
 */
import type { Config } from '../config/types.js';
import { MapError } from '../errors.js';
import type { Table } from '../maps/types.js';
import { rewriteHeaderAddresses } from '../address/header.js';
import { AddrClass, canonicalize, parseClasses, type CanonicalParams, type CanonicalTables } from '../route/canonical.js';
import { masquerade, masqueradeDomains, type ListEntry, type MasqueradeParams } from '../route/masquerade.js';
import { withLookups, type Lookup } from '../route/lookup.js';
import type { Deferral } from '../route/outcome.js';
import { rewriteAddress, rewriteExternal } from '../route/rewrite.js';
import { expandVirtualAlias, type VirtualAliasParams } from '../route/virtual-alias.js';
import type { MapEnv } from '../route/addr-map.js';
import type { CleanupRewriter, HeaderField } from './cleanup.js';
import type { SmtpdRouting } from './smtpd/wiring.js';

/** Sender-type headers (HDR_OPT_SENDER), with the spelling Postfix uses when it regenerates one. */
const SENDER_NAMES = ['From', 'Sender', 'Reply-To', 'Errors-To', 'Return-Path', 'Return-Receipt-To', 'Disposition-Notification-To', 'Mail-Followup-To', 'Resent-From', 'Resent-Sender'];
/** Recipient-type headers (HDR_OPT_RECIP), including Postfix's Resent-Reply-To quirk. */
const RECIPIENT_NAMES = ['To', 'Cc', 'Bcc', 'Apparently-To', 'Resent-To', 'Resent-Cc', 'Resent-Bcc', 'Resent-Reply-To'];
const SENDER_HEADERS = new Map(SENDER_NAMES.map((n) => [n.toLowerCase(), n]));
const RECIPIENT_HEADERS = new Map(RECIPIENT_NAMES.map((n) => [n.toLowerCase(), n]));

function deferError(d: Deferral): MapError {
  return new MapError('CLEANUP_DEFER', d.reason, {}, { temporary: true });
}

/** Build the cleanup rewriter for a configuration (tables come from the smtpd routing's cache). */
export async function createCleanupRewriter(config: Config, routing: SmtpdRouting): Promise<CleanupRewriter> {
  const rp = routing.resolveParams.rewrite;
  const tables = (param: string): Promise<Table[]> => Promise.all(config.list(param).map(routing.table));
  const ctables: CanonicalTables = {
    canonical: await tables('canonical_maps'),
    sender: await tables('sender_canonical_maps'),
    recipient: await tables('recipient_canonical_maps'),
  };
  const propagate = new Set(config.list('propagate_unmatched_extensions').map((s) => s.toLowerCase()));
  const cparams: CanonicalParams = {
    classes: parseClasses('canonical_classes', config.list('canonical_classes')),
    senderClasses: parseClasses('sender_canonical_classes', config.list('sender_canonical_classes')),
    recipientClasses: parseClasses('recipient_canonical_classes', config.list('recipient_canonical_classes')),
    propagate: propagate.has('canonical'),
  };
  const exceptions: ListEntry[] = [];
  for (const item of config.list('masquerade_exceptions')) {
    const negate = item.startsWith('!');
    const name = negate ? item.slice(1) : item;
    if (name.includes(':')) exceptions.push({ negate, table: await routing.table(name) });
    else exceptions.push({ negate, name: name.toLowerCase() });
  }
  const mparams: MasqueradeParams = {
    domains: masqueradeDomains(config.list('masquerade_domains')),
    exceptions,
    classes: parseClasses('masquerade_classes', config.list('masquerade_classes')),
  };
  const vtables = await tables('virtual_alias_maps');
  const vparams: VirtualAliasParams = {
    recursionLimit: config.int('virtual_alias_recursion_limit'),
    expansionLimit: config.int('virtual_alias_expansion_limit'),
    addressLengthLimit: config.int('virtual_alias_address_length_limit'),
    propagate: propagate.has('virtual'),
  };
  const env: MapEnv = {
    ...routing.findContext,
    isLocal: routing.findContext.isLocal,
    rewriteLocal: (a) => rewriteExternal(rp, 'local', a),
  };
  const mailerDaemon = rewriteAddress(rp, 'local', 'MAILER-DAEMON').toLowerCase();
  const tokenLimit = config.int('header_address_token_limit');

  /** Canonical + masquerade for one address of class `cls`, synchronous over `lk`. */
  const mapOne = (addr: string, cls: number, lk: Lookup): string => {
    const c = canonicalize(cparams, ctables, env, addr, cls, lk);
    if (c.defer) throw deferError(c.defer);
    let out = c.addr;
    if (mparams.classes & cls) {
      const m = masquerade(mparams, out, lk);
      if (m.defer) throw deferError(m.defer);
      out = m.addr;
    }
    return out;
  };

  return {
    async rewriteSender(sender) {
      let a = rewriteAddress(rp, 'local', sender);
      if (a.toLowerCase() === mailerDaemon) a = '';
      if (a === '') return '';
      return withLookups((lk) => mapOne(a, AddrClass.ENVELOPE_SENDER, lk));
    },
    async rewriteRecipient(rcpt) {
      const a = rewriteAddress(rp, 'local', rcpt);
      return withLookups((lk) => {
        const mapped = mapOne(a, AddrClass.ENVELOPE_RECIPIENT, lk);
        const v = expandVirtualAlias(vparams, vtables, env, mapped, lk);
        if (v.defer) throw deferError(v.defer);
        return v.addrs;
      });
    },
    async rewriteHeaders(fields: HeaderField[], context) {
      const out: HeaderField[] = [];
      for (const f of fields) {
        const lname = f.name.toLowerCase();
        const cls = SENDER_HEADERS.has(lname) ? AddrClass.HEADER_SENDER : RECIPIENT_HEADERS.has(lname) ? AddrClass.HEADER_RECIPIENT : 0;
        if (cls === 0) {
          out.push(f);
          continue;
        }
        const colon = f.text.indexOf(':');
        const value = f.text.slice(colon + 1);
        const r = await withLookups((lk) =>
          rewriteHeaderAddresses(value, (internal) => mapOne(rewriteAddress(rp, context, internal), cls, lk), { tokenLimit }),
        );
        if (!r.changed) {
          out.push(f);
          continue;
        }
        // Regenerated: `Name: ` + the value, continuation lines folded with a TAB.
        const canonical = SENDER_HEADERS.get(lname) ?? RECIPIENT_HEADERS.get(lname) ?? f.name;
        out.push({ name: canonical, text: `${canonical}: ${r.value.trimStart()}` });
      }
      return out;
    },
  };
}
