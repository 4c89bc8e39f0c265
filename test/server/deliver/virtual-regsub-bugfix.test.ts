/**
 * virtual(8) opens virtual_mailbox_maps (and the uid/gid maps) without regular expression
 * substitution (Postfix's DICT_FLAG_PARANOID ⊃ DICT_FLAG_NO_REGSUB): a regexp/pcre rule whose
 * result uses $n is skipped with "regular expression substitution is not allowed: skipping this
 * rule", so it cannot choose a mailbox path from the address. readdress used such rules.
 * postmap -q (no such flag) still applies them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTable } from '../../../src/maps/registry.js';
import { VirtualAgent } from '../../../src/server/deliver/virtual.js';
import { builtinAgentFactory } from '../../../src/server/deliver/agents.js';
import { memoryMailLog } from '../../../src/server/maillog.js';
import { testConfig } from '../queue/config.js';

const dir = mkdtempSync(join(tmpdir(), 'rd-regsub-'));
const rules = '/^(.+)@v\\.example$/ v.example/$1/\n/^tom@w\\.example$/ w.example/tom/\n';
for (const t of ['regexp', 'pcre']) writeFileSync(join(dir, t), rules);

describe('noRegsub open option (DICT_FLAG_NO_REGSUB)', () => {
  for (const t of ['regexp', 'pcre']) {
    it(`${t}: $n rules are skipped with Postfix's warning; literal results stay`, async () => {
      const table = await openTable(`${t}:${join(dir, t)}`, { noRegsub: true });
      expect(table.warnings?.map((w) => `${w.file}, line ${w.line}: ${w.message}`)).toEqual([
        `${t} map ${join(dir, t)}, line 1: regular expression substitution is not allowed: skipping this rule`,
      ]);
      expect(await table.lookup('ann@v.example')).toBeUndefined();
      expect(await table.lookup('tom@w.example')).toBe('w.example/tom/');
    });
    it(`${t}: without it (postmap -q) the substitution applies`, async () => {
      const table = await openTable(`${t}:${join(dir, t)}`);
      expect(await table.lookup('ann@v.example')).toBe('v.example/ann/');
    });
  }
});

describe('virtual(8) with a regexp virtual_mailbox_maps', () => {
  const agent = new VirtualAgent(testConfig({
    virtual_mailbox_base: join(dir, 'mail'), virtual_mailbox_maps: `regexp:${join(dir, 'regexp')}`,
    virtual_uid_maps: 'static:5000', virtual_gid_maps: 'static:5000', virtual_minimum_uid: '100',
  }));
  const req = (a: string) => ({
    queueId: 'Q', transport: 'virtual', nexthop: 'v.example', sender: 'x@remote.example', recipients: [{ address: a, original: a, index: 0 }],
    content: Buffer.from('Subject: v\n\nbody\n'), arrival: new Date(), attributes: {}, verify: true,
  });
  it('the $1 rule is not used: unknown user 5.1.1', async () => {
    expect((await agent.deliver(req('ann@v.example')))[0]).toMatchObject({ status: 'bounced', dsn: '5.1.1', text: 'unknown user: "ann@v.example"' });
  });
  it('a literal rule still delivers', async () => {
    expect((await agent.deliver(req('tom@w.example')))[0]).toMatchObject({ status: 'sent', text: 'delivers to maildir' });
  });
});

describe('the skipped rule is logged as Postfix logs it', () => {
  it('virtual: warning: regexp map FILE, line 1: regular expression substitution is not allowed: skipping this rule', async () => {
    const log = memoryMailLog();
    const config = testConfig({
      virtual_mailbox_base: join(dir, 'mail'), virtual_mailbox_maps: `regexp:${join(dir, 'regexp')}`,
      virtual_uid_maps: 'static:5000', virtual_gid_maps: 'static:5000', virtual_minimum_uid: '100',
    });
    const agent = builtinAgentFactory(config, { forward: { enqueue: async () => 'X' }, log })('virtual')!;
    const [st] = await agent.deliver({
      queueId: 'Q', transport: 'virtual', nexthop: 'v.example', sender: '', recipients: [{ address: 'ann@v.example', original: 'ann@v.example', index: 0 }],
      content: Buffer.from('Subject: v\n\nbody\n'), arrival: new Date(), attributes: {}, verify: true,
    });
    expect(st).toMatchObject({ status: 'bounced', text: 'unknown user: "ann@v.example"' });
    expect(log.lines).toContain(`virtual: warning: regexp map ${join(dir, 'regexp')}, line 1: regular expression substitution is not allowed: skipping this rule`);
  });
});
