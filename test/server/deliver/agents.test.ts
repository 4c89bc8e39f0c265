import { describe, it, expect } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { builtinAgentFactory } from '../../../src/server/deliver/agents.js';
import { LocalAgent } from '../../../src/server/deliver/local.js';
import { SmtpAgent } from '../../../src/server/deliver/smtp.js';
import { VirtualAgent } from '../../../src/server/deliver/virtual.js';
import { ErrorAgent } from '../../../src/server/deliver/error.js';
import { PipeAgent } from '../../../src/server/deliver/pipe.js';

const MASTER = `
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp -o smtp_helo_name=relay.example
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
slowlane  unix  -       -       n       -       -       smtp
filter    unix  -       n       n       -       -       pipe flags=R user=nobody argv=/bin/true
`;

describe('master.cf services → delivery agents', () => {
  const config = loadConfig({ mainCfText: 'myhostname = mail.example.com\n', masterCfText: MASTER });
  const f = builtinAgentFactory(config, { forward: { enqueue: async () => 'X' } });
  it('picks the agent by the service program', () => {
    expect(f('local')).toBeInstanceOf(LocalAgent);
    expect(f('relay')).toBeInstanceOf(SmtpAgent);
    expect(f('slowlane')).toBeInstanceOf(SmtpAgent);
    expect(f('virtual')).toBeInstanceOf(VirtualAgent);
    expect(f('discard')).toBeInstanceOf(ErrorAgent);
  });
  it('runs error(8) as retry under the retry service', async () => {
    const req = { queueId: 'Q', transport: 'retry', nexthop: '4.3.2 later', sender: '', recipients: [{ address: 'a@b', original: 'a@b', index: 0 }], content: Buffer.from(''), arrival: new Date(), attributes: {} };
    expect((await f('retry')!.deliver(req))[0]!.status).toBe('deferred');
    expect((await f('error')!.deliver({ ...req, nexthop: '5.1.1 no' }))[0]!.status).toBe('bounced');
  });
  it('has no agent for unknown services; pipe services get a PipeAgent', () => {
    expect(f('nosuch')).toBeUndefined();
    expect(f('filter')).toBeInstanceOf(PipeAgent);
  });

  it('uses the built-in services when master.cf has no delivery services', () => {
    const c = loadConfig({ mainCfText: 'myhostname = mail.example.com\n', masterCfText: '127.0.0.1:2525 inet n - n - - smtpd\n' });
    expect(builtinAgentFactory(c, { forward: { enqueue: async () => 'X' } })('local')).toBeInstanceOf(LocalAgent);
  });
});
