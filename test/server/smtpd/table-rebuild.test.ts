/**
 * A running smtpd sees a table rebuilt by postmap/postalias without a restart (Postfix's smtpd
 * notices the changed file and a fresh process takes over): a new alias stops being
 * "User unknown" once the compiled table is rebuilt.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { buildTable } from '../../../src/maps/index.js';
import { AccessChecks } from '../../../src/server/smtpd/access.js';
import { staticDns } from '../../../src/server/smtpd/dns.js';
import { newSessionState } from '../../../src/server/smtpd/state.js';
import { createSmtpdRouting } from '../../../src/server/smtpd/wiring.js';
import { memLog } from './helpers.js';

describe('smtpd and rebuilt tables', () => {
  it('a virtual alias added by postmap is accepted without a restart', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rd-rebuild-'));
    const virtual = path.join(dir, 'virtual');
    writeFileSync(virtual, 'valias.example x\nold@valias.example tom\n');
    buildTable('hash', virtual);
    writeFileSync(path.join(dir, 'main.cf'), [
      'compatibility_level = 3.6',
      'myhostname = mail.example.com',
      'mydestination = localhost',
      'inet_interfaces = 127.0.0.1',
      'mynetworks = 127.0.0.0/24',
      'alias_maps =',
      'local_recipient_maps =',
      `virtual_alias_maps = hash:${virtual}`,
    ].join('\n') + '\n');
    const config = loadConfig({ configDir: dir });
    const routing = await createSmtpdRouting(config, { log: memLog(), dns: staticDns({}), interfaceAddresses: () => ['127.0.0.1'] });
    const access = new AccessChecks(routing.deps);
    const s = newSessionState({
      name: 'unknown', reverseName: 'unknown', nameStatus: 'perm', reverseNameStatus: 'perm',
      addr: '127.0.0.2', rfcAddr: '127.0.0.2', port: 40000, serverAddr: '127.0.0.1', namaddr: 'unknown[127.0.0.2]',
    });
    s.protocol = 'ESMTP';
    s.helo = 'client.example';
    s.sender = 'x@outside.example';
    s.where = 'RCPT';
    const unknown = '550 5.1.1 <new@valias.example>: Recipient address rejected: User unknown in virtual alias table';
    expect(await access.rcpt(s, 'old@valias.example')).toBeUndefined();
    expect(await access.rcpt(s, 'new@valias.example')).toBe(unknown);

    writeFileSync(virtual, 'valias.example x\nold@valias.example tom\nnew@valias.example tom\n');
    buildTable('hash', virtual);
    let reply: string | undefined = unknown;
    for (let i = 0; i < 100 && reply !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      reply = await access.rcpt(s, 'new@valias.example');
    }
    expect(reply).toBeUndefined();
    expect(await access.rcpt(s, 'old@valias.example')).toBeUndefined();
  });
});
