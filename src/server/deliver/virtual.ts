/**
 * virtual(8): delivery for virtual mailbox domains. The recipient is looked up in
 * `virtual_mailbox_maps` (full address, address without extension, `@domain`); the value is a
 * path under `virtual_mailbox_base` — a Maildir when it ends in `/`, else an mbox file. The
 * owner comes from `virtual_uid_maps` / `virtual_gid_maps` (e.g. `static:5000`) and must be at
 * least `virtual_minimum_uid`. Prepends Return-Path, X-Original-To and Delivered-To.
 * Parameters: virtual_mailbox_base, virtual_mailbox_maps, virtual_uid_maps, virtual_gid_maps,
 * virtual_minimum_uid, virtual_mailbox_lock, virtual_mailbox_limit, recipient_delimiter,
 * deliver_lock_attempts, deliver_lock_delay, stale_lock_time, enable_original_recipient.
 */
import { join } from 'node:path';
import type { Config } from '../../config/types.js';
import { formatWarning, type Warning } from '../../errors.js';
import type { Table } from '../../maps/types.js';
import { openTable } from '../../maps/index.js';
import { quote822Local } from '../../address/quote.js';
import { findAddress, type FindContext } from '../../route/addr-find.js';
import { extensionSplit } from '../../route/addr-util.js';
import type { DeliveryAgent, DeliveryRequest, RecipientStatus } from './types.js';
import { appendMbox, deliverMaildir, type DeliveryEnvelope } from './mailbox.js';

const q = (a: string) => (a === '' ? '' : quote822Local(a));

/** The virtual(8) delivery agent. */
export class VirtualAgent implements DeliveryAgent {
  private tables: Promise<{ mailbox: Table[]; uid: Table[]; gid: Table[] }> | undefined;

  /** `warn`: table warnings, logged as `virtual: warning: …` (e.g. a skipped `$n` rule). */
  constructor(private readonly config: Config, private readonly now: () => Date = () => new Date(), private readonly warn?: (text: string) => void) {}

  private open() {
    const c = this.config;
    // No $n substitution in these tables (Postfix's DICT_FLAG_PARANOID for virtual(8)).
    const onWarning = (w: Warning): void => this.warn?.(formatWarning(w));
    const list = async (name: string) => Promise.all(c.list(name).map((s) => openTable(s, c.configDir ? { configDir: c.configDir, noRegsub: true, onWarning } : { noRegsub: true, onWarning })));
    this.tables ??= (async () => ({ mailbox: await list('virtual_mailbox_maps'), uid: await list('virtual_uid_maps'), gid: await list('virtual_gid_maps') }))();
    return this.tables;
  }

  /** Deliver each recipient to the Maildir or mbox that `virtual_mailbox_maps` gives it (unknown: 5.1.1). */
  async deliver(req: DeliveryRequest): Promise<RecipientStatus[]> {
    const out: RecipientStatus[] = [];
    for (const r of req.recipients) out.push(await this.one(req, r.address, r.original));
    return out;
  }

  private async one(req: DeliveryRequest, rcpt: string, original: string): Promise<RecipientStatus> {
    const c = this.config;
    const fail = (status: 'deferred' | 'bounced', dsn: string, text: string): RecipientStatus => ({ status, dsn, text, relay: 'virtual', diagnosticType: 'x-unix' });
    let t;
    try {
      t = await this.open();
    } catch (e) {
      return fail('deferred', '4.3.5', `mail system configuration error: ${(e as Error).message}`);
    }
    const ctx: FindContext = {
      split: extensionSplit(c.get('recipient_delimiter'), true, c.get('double_bounce_sender') || 'double-bounce'),
      isLocal: () => false,
    };
    const find = async (tables: Table[]) => (tables.length ? (await findAddress(tables, rcpt.toLowerCase(), ctx))?.value : undefined);
    let path: string | undefined;
    let uidText: string | undefined;
    let gidText: string | undefined;
    try {
      path = await find(t.mailbox);
      if (path === undefined) return fail('bounced', '5.1.1', `unknown user: "${rcpt}"`);
      uidText = await find(t.uid);
      gidText = await find(t.gid);
    } catch {
      return fail('deferred', '4.3.0', 'virtual mailbox lookup failure');
    }
    const uid = Number(uidText);
    const gid = Number(gidText);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) return fail('deferred', '4.3.5', 'mail system configuration error');
    if (uid < (c.int('virtual_minimum_uid') || 100)) return fail('deferred', '4.3.5', 'mail system configuration error');
    const base = c.get('virtual_mailbox_base');
    const target = join(base, path) + (path.endsWith('/') ? '/' : '');
    const env: DeliveryEnvelope = { sender: q(req.sender), deliveredTo: q(rcpt) };
    if (c.get('enable_original_recipient') === '' || c.bool('enable_original_recipient')) env.originalTo = q(original || rcpt);
    const owner = { uid, gid };
    if (req.verify) return { status: 'sent', dsn: '2.0.0', text: path.endsWith('/') ? 'delivers to maildir' : 'delivers to mailbox', relay: 'virtual' };
    const res = path.endsWith('/')
      ? await deliverMaildir(target, env, req.content, { owner, now: this.now() })
      : await appendMbox(target, env, req.content, {
          owner, now: this.now(), sizeLimit: c.int('virtual_mailbox_limit'), user: rcpt,
          lock: {
            methods: c.list('virtual_mailbox_lock').length ? c.list('virtual_mailbox_lock') : ['fcntl', 'dotlock'],
            attempts: c.int('deliver_lock_attempts') || 20, delay: c.time('deliver_lock_delay') || 1, staleTime: c.time('stale_lock_time') || 500,
          },
        });
    const st: RecipientStatus = { status: res.status, dsn: res.dsn, text: res.text, relay: 'virtual' };
    if (res.status !== 'sent') st.diagnosticType = 'x-unix';
    return st;
  }
}
