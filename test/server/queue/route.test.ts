import { describe, it, expect } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { createQueueResolver } from '../../../src/server/queue/route.js';
import { oracle, oracleConfig } from '../../route/oracle.js';

const MAIN = `
mydomain = test.com
myorigin = $mydomain
mydestination = $mydomain, localhost
inet_interfaces = 127.0.0.1
relayhost = [127.0.0.1]:12026
compatibility_level = 3.6
transport_maps = inline:{ special.example=relay:[10.0.0.1]:2525, { trap.example=error:5.7.1 go away }, slow.example=retry }
relocated_maps = inline:{ old@test.com=new@elsewhere.example }
`;

describe('queue manager routing (resolve + transport_maps + relocated_maps)', () => {
  const config = loadConfig({ mainCfText: MAIN, hostname: 'mail.example.com' });
  const resolve = createQueueResolver(config);
  it.each([
    ['tom@test.com', 'local', 'mail.example.com', 'tom@test.com'],
    // An unqualified name gets @$myhostname, which is not in this mydestination.
    ['tom', 'smtp', '[127.0.0.1]:12026', 'tom@mail.example.com'],
    ['bob@remote.example', 'smtp', '[127.0.0.1]:12026', 'bob@remote.example'],
    ['a@special.example', 'relay', '[10.0.0.1]:2525', 'a@special.example'],
    ['a@trap.example', 'error', '5.7.1 go away', 'a@trap.example'],
    ['a@slow.example', 'retry', 'Address is undeliverable', 'a@slow.example'],
    ['old@test.com', 'error', '5.1.6 User has moved to new@elsewhere.example', 'old@test.com'],
  ])('%s → %s:%s', async (rcpt, transport, nexthop, canon) => {
    const r = await resolve('bob@remote.example', rcpt);
    expect([r.transport, r.nexthop, r.recipient]).toEqual([transport, nexthop, canon]);
  });
  it('flags bad syntax as an error (qmgr bounces 5.1.3)', async () => {
    expect((await resolve('', 'user@[321.1.2.3]')).error).toBe(true);
  });
});

describe('queue manager routing with the message sender (sender_dependent_* maps)', () => {
  // Recorded from Postfix 3.7.11's trivial-rewrite, asked with each sender as qmgr asks.
  const conf = oracle.configs.find((c) => c.name === 'sender')!;
  const cases = conf.resolve.filter((r) => r.sender !== undefined && (r.flags & 0x0c) === 0);
  const resolve = createQueueResolver(oracleConfig(conf));
  it('has recorded cases', () => expect(cases.length).toBeGreaterThanOrEqual(12));
  it.each(cases.map((r) => [r.sender!, r.input, r.transport, r.nexthop] as const))('from <%s> to %s → %s:%s', async (sender, rcpt, transport, nexthop) => {
    const r = await resolve(sender, rcpt);
    expect([r.transport, r.nexthop]).toEqual([transport, nexthop]);
  });
});
