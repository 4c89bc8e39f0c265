import { describe, it, expect } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipeAgent, parsePipeArgs, type PipeSpec } from '../../../src/server/deliver/pipe.js';
import { testConfig } from '../queue/config.js';

const req = (rcpts: [string, string][]) => ({
  queueId: 'QID1', transport: 'filter', nexthop: 'x.example', sender: 'bob@remote.example',
  recipients: rcpts.map(([a, o], index) => ({ address: a, original: o, index })),
  content: Buffer.from('Subject: p\n\nFrom me\n.dot\n'), arrival: new Date(), attributes: {},
});

describe('pipe(8)', () => {
  it('parses master.cf arguments', () => {
    expect(parsePipeArgs(['flags=DRhu', 'user=nobody:nogroup', 'argv=/usr/bin/prog', '-f', '${sender}', '--', '${recipient}'])).toEqual({
      flags: 'DRhu', user: 'nobody', group: 'nogroup', argv: ['/usr/bin/prog', '-f', '${sender}', '--', '${recipient}'],
    });
    expect(parsePipeArgs(['argv=/bin/true'])).toEqual({ error: 'missing user= command-line attribute' });
  });

  it('runs argv as the user with macros expanded, one argument per recipient, flags for headers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdpipe-'));
    chmodSync(dir, 0o777);
    const spec = parsePipeArgs(['flags=FDRO>', 'user=nobody', 'argv=/bin/sh', '-c', `cat > ${dir}/msg; id -u > ${dir}/uid; echo "$@" > ${dir}/args`, 'sh', '${sender}', '${nexthop}', '${user}@${domain}', '$extension']) as PipeSpec;
    const agent = new PipeAgent(testConfig({ recipient_delimiter: '+' }), 'filter', spec);
    const st = await agent.deliver(req([['Ann+x@A.example', 'list@a.example'], ['bob@b.example', 'bob@b.example']]));
    expect(st.map((s) => [s.status, s.text, s.relay])).toEqual([['sent', 'delivered via filter service', 'filter'], ['sent', 'delivered via filter service', 'filter']]);
    expect(readFileSync(join(dir, 'args'), 'utf8')).toBe('bob@remote.example x.example Ann@A.example bob@b.example x \n');
    expect(readFileSync(join(dir, 'uid'), 'utf8').trim()).toBe('65534');
    const msg = readFileSync(join(dir, 'msg'), 'utf8');
    expect(msg).toMatch(/^From bob@remote\.example {2}\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nReturn-Path: <bob@remote\.example>\nX-Original-To: list@a\.example\nDelivered-To: Ann\+x@A\.example\nSubject: p\n\n>From me\n\.dot\n$/);
  });

  it('maps exit codes like local(8) commands', async () => {
    const spec = parsePipeArgs(['user=nobody', 'argv=/bin/sh', '-c', 'exit 75']) as PipeSpec;
    const [st] = await new PipeAgent(testConfig(), 'filter', spec).deliver(req([['a@b', 'a@b']]));
    expect(st).toMatchObject({ status: 'deferred', dsn: '4.3.0', text: 'temporary failure' });
    const [st2] = await new PipeAgent(testConfig(), 'filter', parsePipeArgs(['user=root', 'argv=/bin/true']) as PipeSpec).deliver(req([['a@b', 'a@b']]));
    expect(st2).toMatchObject({ status: 'deferred', dsn: '4.3.5' });
  });
});
