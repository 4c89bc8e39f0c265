/**
 * Differential test: the rewrite pipeline against what real Postfix 3.7.11 did with the same
 * configuration and messages (recorded by test/route/differential/record.ts into
 * test/fixtures/pipeline/differential.json). Runs without Postfix.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createRewriter, type Rewriter } from '../../src/route/rewriter.js';
import { unquoteLocal } from '../../src/route/addr-util.js';
import { extraSettings, type DiffCase, type DiffSetup } from './differential/setups.js';
import { memoryTable } from '../../src/maps/memory.js';
import { parseAliasSource } from '../../src/maps/aliasfile.js';
import type { FinalRecipient, LocalDelivery } from '../../src/route/rewriter.js';

interface Delivery { service: string; nexthop: string; sender: string; recipient: string; origRecipient: string; headers: [string, string][] }
interface LogStatus { to: string; origTo?: string; relay: string; dsn: string; status: string; text: string }
interface CaseRecord extends DiffCase { replies: { cmd: string; code: number; text: string }[]; deliveries: Delivery[]; log: LogStatus[] }
interface Recording { postfix: string; setups: (Omit<DiffSetup, 'cases'> & { cases: CaseRecord[] })[] }

const rec = JSON.parse(readFileSync(new URL('../fixtures/pipeline/differential.json', import.meta.url), 'utf8')) as Recording;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'route-diff-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function rewriterFor(setup: Recording['setups'][number]): Promise<Rewriter> {
  const dir = path.join(tmp, setup.name);
  const conf = path.join(dir, 'conf');
  for (const d of [dir, conf]) {
    try { (await import('node:fs')).mkdirSync(d, { recursive: true }); } catch { /* exists */ }
  }
  for (const [name, text] of Object.entries(setup.files)) writeFileSync(path.join(conf, name), text.replaceAll('{conf}', conf));
  const extra = extraSettings({ ...setup, cases: [] }, dir);
  const main = setup.main.replaceAll('{conf}', conf) + Object.entries(extra).map(([k, v]) => `${k} = ${v}\n`).join('');
  const config = loadConfig({ mainCfText: main, hostname: 'mail.test.com' });
  // alias_maps = hash:…: built from the source as postalias would (first entry wins).
  const aliasTables = setup.files.aliases
    ? [memoryTable(`hash:${conf}/aliases`, parseAliasSource(setup.files.aliases.replaceAll('{conf}', conf), 'aliases', []).map((e) => [e.name, e.value] as [string, string]))]
    : [];
  return createRewriter(config, { resolve: { interfaceAddresses: () => ['127.0.0.1'] }, aliasTables });
}

const replyOf = (c: CaseRecord, cmd: string, n = 0) => c.replies.filter((r) => r.cmd === cmd)[n];

/** The original recipient as smtpd records it: internal form, source route removed by smtpd. */
const original = (a: string): string => unquoteLocal(a.replace(/^@[^:]*:/, ''));

/** cleanup drops these headers after rewriting them. */
const DROPPED = new Set(['bcc', 'resent-bcc', 'return-path', 'content-length']);

let total = 0;
for (const setup of rec.setups) {
  describe(`differential vs Postfix ${rec.postfix}: ${setup.name}`, () => {
    let rw: Rewriter;
    beforeAll(async () => {
      rw = await rewriterFor(setup);
    });
    it('builds a synchronous pipeline from the recorded main.cf', () => {
      expect(rw.isSync).toBe(true);
    });
    for (const c of setup.cases) {
      total++;
      if (setup.name === 'aliases') {
        it(`${c.id}: local(8) aliases for ${c.rcpts.join(', ')}`, async () => {
          // Flatten what local(8) does into observable outcomes.
          const want: { service: string; recipient: string; sender: string; orig: string }[] = [];
          const bounces: { to: string; dsn: string; text: string }[] = [];
          const walk = (fs: FinalRecipient[], sender: string, orig: string): void => {
            for (const f of fs) {
              if (f.outcome) { bounces.push({ to: f.address, dsn: f.outcome.status, text: f.outcome.text }); continue; }
              if (!f.local) { want.push({ service: f.transport === 'local' ? 'lmailbox' : f.transport!, recipient: f.address, sender, orig }); continue; }
              for (const d of f.local as LocalDelivery[]) {
                if (d.kind === 'mailbox') want.push({ service: 'lmailbox', recipient: d.recipient, sender: d.sender, orig: d.original });
                else if (d.kind === 'forward') walk(d.forwarded ?? [], d.sender, d.original);
                else if (d.kind === 'bounce' || d.kind === 'defer') bounces.push({ to: d.recipient, dsn: d.status, text: d.text });
              }
            }
          };
          for (const rcpt of c.rcpts) {
            const rr = await rw.rewriteRecipient(rcpt, { external: true, aliases: true, sender: c.sender });
            walk(rr.recipients, c.sender, original(rcpt));
          }
          const got = c.deliveries.map((d) => ({ service: d.service, recipient: d.recipient, sender: d.sender, orig: d.origRecipient }));
          const key = (x: { service: string; recipient: string }) => x.service + ' ' + x.recipient;
          expect([...want].sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...got].sort((a, b) => key(a).localeCompare(key(b))));
          expect(bounces).toEqual(c.log.map((l) => ({ to: l.to, dsn: l.dsn, text: l.text })));
        });
        continue;
      }
      it(`${c.id}: ${c.sender || '<>'} → ${c.rcpts.join(', ')}`, async () => {
        const seen = new Set<Delivery>();
        const claim = (pred: (d: Delivery) => boolean, what: string): Delivery => {
          const d = c.deliveries.find((x) => !seen.has(x) && pred(x));
          expect(d, `${what} among ${JSON.stringify(c.deliveries.map((x) => [x.service, x.nexthop, x.recipient]))}`).toBeDefined();
          seen.add(d!);
          return d!;
        };
        const dataEnd = replyOf(c, 'DATA-END');
        let anyAccepted = false;
        // The message's recipients together, with cleanup's duplicate filter across them.
        const all = await rw.rewriteRecipients(c.rcpts, { external: true });
        for (let i = 0; i < c.rcpts.length; i++) {
          const rcpt = c.rcpts[i]!;
          const rr = all.results[i]!;
          const rcptReply = replyOf(c, 'RCPT', i)!;
          if (rr.defer) {
            // cleanup refuses the whole message.
            expect(dataEnd?.code).toBe(rr.defer.code);
            expect(dataEnd?.text).toBe(`${rr.defer.status} ${rr.defer.text}`);
            continue;
          }
          for (const f of rr.recipients) {
            if (f.outcome) {
              const rejected = rcptReply.code >= 400 && rr.recipients.length === 1;
              if (rejected) {
                expect(rcptReply.code).toBe(f.outcome.kind === 'bounce' ? 550 : 450);
                expect(rcptReply.text).toBe(`${f.outcome.status} <${rcpt}>: Recipient address rejected: ${f.outcome.text}`);
              } else {
                const l = c.log.find((x) => x.to === f.address);
                expect(l, `log line for ${f.address}`).toBeDefined();
                expect(l!.dsn).toBe(f.outcome.status);
                expect(l!.text).toBe(f.outcome.text);
                expect(l!.status).toBe(f.outcome.kind === 'bounce' ? 'bounced' : 'deferred');
              }
              continue;
            }
            expect(rcptReply.code).toBe(250);
            if (all.defer) continue; // the whole message was refused at end of DATA
            anyAccepted = true;
            if (f.transport === 'local') {
              const d = claim((x) => x.service === 'lmailbox' && x.recipient === f.address && x.origRecipient === original(rcpt), `local delivery to ${f.address}`);
              expect(d.origRecipient).toBe(original(rcpt));
            } else {
              const d = claim((x) => x.service === f.transport && x.recipient === f.address && x.origRecipient === original(rcpt), `${f.transport} delivery to ${f.address}`);
              expect(d.nexthop).toBe(f.nexthop);
              expect(d.origRecipient).toBe(original(rcpt));
            }
          }
        }
        expect(c.deliveries.filter((d) => !seen.has(d))).toEqual([]);
        if (!anyAccepted || dataEnd?.code !== 250) return;
        // Envelope sender as delivered (pipe(8) shows the null sender as MAILER-DAEMON).
        const s = await rw.rewriteSender(c.sender, { external: true });
        for (const d of c.deliveries) expect(d.sender).toBe(s.address === '' ? 'MAILER-DAEMON' : s.address);
        // Headers: every address header we sent, as delivered.
        if (c.headers.length === 0) return;
        const block = c.headers.join('\n') + '\n';
        const h = await rw.rewriteHeaders(block, { context: c.client === '127.0.0.1' ? 'local' : 'remote' });
        expect(h.defer).toBeUndefined();
        const ours = new Map<string, string>();
        for (const m of h.headers.matchAll(/^([^:\s]+):((?:[^\n]*)(?:\n[ \t][^\n]*)*)\n/gm)) ours.set(m[1]!, m[2]!);
        const theirs = new Map(c.deliveries[0]!.headers);
        for (const [name, value] of ours) {
          if (DROPPED.has(name.toLowerCase())) expect(theirs.has(name)).toBe(false);
          else expect(theirs.get(name), `header ${name}`).toBe(value);
        }
        if (h.changed === false) expect(h.headers).toBe(block);
      });
    }
  });
}

describe('differential suite size', () => {
  it('covers at least 100 recorded cases', () => {
    expect(total).toBeGreaterThanOrEqual(100);
  });
});
