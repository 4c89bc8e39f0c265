import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../../src/cli/io.js';
import { run } from '../../src/cli/verify.js';
import { parsePasswd } from '../../src/server/deliver/passwd.js';

// The seed's users, as on the host the expectations were recorded on (Postfix's local(8)
// reads the host's passwd; this machine may have no user tom).
const users = parsePasswd('root:x:0:0:root:/root:/bin/sh\ntom:x:1000:1000:Tom:/home/tom:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
const host = { getpwnam: (name: string) => users.get(name) };

const dir = mkdtempSync(path.join(os.tmpdir(), 'verify-'));
cpSync(new URL('../fixtures/pipeline/verify', import.meta.url), dir, { recursive: true });
writeFileSync(path.join(dir, 'main.cf'), readFileSync(path.join(dir, 'main.cf'), 'utf8').replaceAll('{dir}', dir));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readdress verify', () => {
  it('shows each stage with the table and key that matched (seed: tom@test.net → tom → local)', async () => {
    const r = await runCaptured(run, ['-c', dir, 'tom@test.net'], '', host);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`virtual_alias_maps        texthash:${dir}/virtual: tom@test.net = tom`);
    expect(r.stdout).toContain('virtual_alias_maps        tom@test.net → tom@test.com');
    expect(r.stdout).toContain('result                    tom@test.com: class local, transport local, nexthop mail.test.com');
  });
  it('unknown user in a virtual alias domain and a relocated user bounce (exit 1)', async () => {
    const r = await runCaptured(run, ['-c', dir, 'joe@test.net', 'old@test.com'], '', host);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('joe@test.net: bounce 5.1.1 User unknown in virtual alias table');
    expect(r.stdout).toContain(`relocated_maps            texthash:${dir}/relocated: old@test.com = new@elsewhere.example`);
    expect(r.stdout).toContain('old@test.com: bounce 5.1.6 User has moved to new@elsewhere.example');
  });
  it('local aliases: root → tom', async () => {
    const r = await runCaptured(run, ['-c', dir, 'root'], '', host);
    expect(r.stdout).toContain('rewrite                   root → root@test.com');
    expect(r.stdout).toContain(`alias_maps                texthash:${dir}/aliases: root = tom`);
    expect(r.stdout).toContain('alias_maps                mailbox tom (tom@test.com)');
  });
  it('a virtual alias loop is a 4.6.0 deferral', async () => {
    const r = await runCaptured(run, ['-c', dir, 'a@loop.example'], '', host);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('defer: 451 4.6.0 Alias expansion error');
  });
  it('--sender: canonical then masquerade, root excepted', async () => {
    const r = await runCaptured(run, ['-c', dir, '--sender', 'joe', 'user@host.test.com', 'root@host.test.com'], '', host);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sender_canonical_maps     texthash:' + dir + '/sender_canonical: joe = joe.smith');
    expect(r.stdout).toMatch(/joe \(sender\)[\s\S]*result\s+joe\.smith@test\.com/);
    expect(r.stdout).toMatch(/user@host\.test\.com \(sender\)[\s\S]*?result\s+user@test\.com/);
    expect(r.stdout).toMatch(/root@host\.test\.com \(sender\)[\s\S]*?result\s+root@host\.test\.com/);
  });
  it('--json gives the result and trace', async () => {
    const r = await runCaptured(run, ['-c', dir, '--json', 'list@test.net'], '', host);
    const j = JSON.parse(r.stdout.trim()) as { recipients: { address: string; transport: string }[]; trace: { stage: string }[] };
    expect(j.recipients.map((x) => x.address)).toEqual(['a@remote.example', 'b@remote.example']);
    expect(j.trace.some((s) => s.stage === 'virtual_alias_maps')).toBe(true);
  });
  it('usage and configuration errors', async () => {
    expect((await runCaptured(run, [], '', host)).code).toBe(64);
    expect((await runCaptured(run, ['--bogus', 'x'], '', host)).code).toBe(64);
    const bad = mkdtempSync(path.join(os.tmpdir(), 'verify-bad-'));
    writeFileSync(path.join(bad, 'main.cf'), 'canonical_classes = envelope_sender, nonsense\n');
    const r = await runCaptured(run, ['-c', bad, 'x@y'], '', host);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('nonsense');
    rmSync(bad, { recursive: true, force: true });
  });
});
