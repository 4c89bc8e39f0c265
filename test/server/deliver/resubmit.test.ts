import { describe, it, expect } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { cleanupResubmitter } from '../../../src/server/deliver/resubmit.js';
import type { NewMessage, QueueWriter } from '../../../src/server/queue/types.js';

const MAIN = `
mydomain = test.com
myorigin = $mydomain
mydestination = $mydomain, localhost
inet_interfaces = 127.0.0.1
compatibility_level = 3.6
virtual_alias_maps = inline:{ someone@virtual.example=tom@test.com, team@virtual.example=ann@remote.example }
recipient_canonical_maps = inline:{ old@remote.example=new@remote.example }
`;

describe('forwarded mail and notifications go through cleanup envelope rewriting', () => {
  it('applies canonical and virtual alias maps to recipients, qualifies the sender, keeps originals', async () => {
    const config = loadConfig({ mainCfText: MAIN, hostname: 'mail.example.com' });
    const got: NewMessage[] = [];
    const sink: QueueWriter = { enqueue: async (m) => { got.push(m); return 'ID1'; } };
    const w = cleanupResubmitter(config, sink);
    const id = await w.enqueue({
      sender: 'owner-list',
      recipients: [
        { address: 'someone@virtual.example', original: 'list@test.com' },
        { address: 'old@remote.example', original: 'list@test.com' },
        { address: 'team@virtual.example', original: 'list@test.com' },
      ],
      content: Buffer.from('Subject: x\n\nbody\n'), arrivedAt: new Date(), attributes: {},
    });
    expect(id).toBe('ID1');
    expect(got[0]!.sender).toBe('owner-list@test.com');
    expect(got[0]!.recipients).toEqual([
      { address: 'tom@test.com', original: 'list@test.com' },
      { address: 'new@remote.example', original: 'list@test.com' },
      { address: 'ann@remote.example', original: 'list@test.com' },
    ]);
    expect(got[0]!.content.toString()).toBe('Subject: x\n\nbody\n');
  });
});
