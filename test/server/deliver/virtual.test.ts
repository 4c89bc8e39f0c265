import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualAgent } from '../../../src/server/deliver/virtual.js';
import { testConfig } from '../queue/config.js';

const NOW = new Date(2026, 10, 25, 9, 0, 0);

function setup(over: Record<string, string> = {}) {
  const base = mkdtempSync(join(tmpdir(), 'rdvirt-'));
  const config = testConfig({
    virtual_mailbox_base: base,
    virtual_mailbox_maps: 'inline:{ann@v.example=v.example/ann/,bob@v.example=v.example/bob,@w.example=w.example/catchall}',
    virtual_uid_maps: 'static:5000', virtual_gid_maps: 'static:5000', virtual_minimum_uid: '100',
    virtual_mailbox_lock: 'dotlock', virtual_mailbox_limit: '51200000', ...over,
  });
  return { base, agent: new VirtualAgent(config, () => NOW) };
}

const req = (rcpts: string[]) => ({
  queueId: 'Q', transport: 'virtual', nexthop: 'v.example', sender: 'x@remote.example',
  recipients: rcpts.map((a, index) => ({ address: a, original: a, index })),
  content: Buffer.from('Subject: v\n\nbody\n'), arrival: NOW, attributes: {},
});

describe('virtual(8)', () => {
  it('delivers to Maildir and mbox paths under virtual_mailbox_base with the mapped owner', async () => {
    const { base, agent } = setup();
    const st = await agent.deliver(req(['ann@v.example', 'bob@v.example', 'any@w.example']));
    expect(st.map((s) => [s.status, s.text, s.relay])).toEqual([
      ['sent', 'delivered to maildir', 'virtual'], ['sent', 'delivered to mailbox', 'virtual'], ['sent', 'delivered to mailbox', 'virtual'],
    ]);
    const [name] = readdirSync(join(base, 'v.example/ann/new'));
    expect(readFileSync(join(base, 'v.example/ann/new', name!), 'utf8')).toBe('Return-Path: <x@remote.example>\nX-Original-To: ann@v.example\nDelivered-To: ann@v.example\nSubject: v\n\nbody\n');
    expect(readFileSync(join(base, 'v.example/bob'), 'utf8').startsWith('From x@remote.example  Wed Nov 25 09:00:00 2026\nReturn-Path: <x@remote.example>\n')).toBe(true);
    expect(statSync(join(base, 'v.example/bob')).uid).toBe(5000);
  });

  it('bounces unknown users, defers when the uid is missing or too small', async () => {
    expect((await setup().agent.deliver(req(['nobody@v.example'])))[0]).toMatchObject({ status: 'bounced', dsn: '5.1.1', text: 'unknown user: "nobody@v.example"' });
    expect((await setup({ virtual_uid_maps: '' }).agent.deliver(req(['bob@v.example'])))[0]).toMatchObject({ status: 'deferred', dsn: '4.3.5' });
    expect((await setup({ virtual_uid_maps: 'static:10' }).agent.deliver(req(['bob@v.example'])))[0]).toMatchObject({ status: 'deferred', dsn: '4.3.5' });
  });
});
