import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCaptured } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { run as resolveCmd } from '../../src/cli/resolve.js';
import { quote822Local } from '../../src/address/quote.js';
import { run as rewriteCmd } from '../../src/cli/rewrite.js';
import { oracle } from '../route/oracle.js';

/** A config dir holding the main.cf of a recorded oracle configuration (expanded values). */
function configDir(name: string): string {
  const conf = oracle.configs.find((c) => c.name === name)!;
  const dir = mkdtempSync(join(tmpdir(), 'readdress-cli-route-'));
  writeFileSync(join(dir, 'main.cf'), Object.entries(conf.params).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
  return dir;
}

const compat0 = oracle.configs.find((c) => c.name === 'compat0')!;
const domains36 = oracle.configs.find((c) => c.name === 'domains36')!;

describe('readdress rewrite', () => {
  const dir = configDir('compat0');
  it('prints one result per command-line address, as Postfix rewrote them (external form)', async () => {
    const inputs = ['a!b', '@hosta,@hostb:user@domain', 'a b@c', 'user@host.', '@'];
    const want = inputs.map((i) => compat0.rewrite.find((r) => r.context === 'local' && r.input === i)!.expected);
    const r = await runCaptured(rewriteCmd, ['-c', dir, ...inputs]);
    expect(r).toEqual({ code: 0, stdout: want.map((w) => `${w}\n`).join(''), stderr: '' });
  });
  it('remote context and internal form', async () => {
    const remote = compat0.rewrite.find((r) => r.context === 'remote' && r.input === 'user')!.expected;
    expect((await runCaptured(rewriteCmd, ['-c', dir, '--context', 'remote', 'user'])).stdout).toBe(`${remote}\n`);
    expect((await runCaptured(rewriteCmd, ['-c', dir, '--internal', 'a b@c'])).stdout).toBe('a b@c.localdomain\n');
  });
  it('reads stdin when no address is given and prints ADDRESS<TAB>RESULT', async () => {
    const r = await runCaptured(rewriteCmd, ['-c', dir], 'a%b\nuser\n');
    expect(r.stdout).toBe('a%b\ta@b.localdomain\nuser\tuser@vm.localdomain\n');
  });
  it('--json and -o overrides', async () => {
    const r = await runCaptured(rewriteCmd, ['-c', dir, '-o', 'swap_bangpath=no', '--json', 'a!b']);
    expect(JSON.parse(r.stdout)).toEqual([{ input: 'a!b', context: 'local', result: 'a!b@vm.localdomain' }]);
  });
  it('usage and configuration errors', async () => {
    expect((await runCaptured(rewriteCmd, ['--context', 'nowhere', 'x'])).code).toBe(64);
    expect((await runCaptured(rewriteCmd, ['--bogus'])).stderr).toMatch(/unknown option --bogus/);
    const missing = await runCaptured(rewriteCmd, ['-c', join(dir, 'nope'), 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\/main\.cf: No such file or directory/);
  });
  it('is registered in the dispatcher', async () => {
    let out = '';
    const io = { stdout: (t: string) => { out += t; }, stderr: () => {}, stdin: (await import('node:stream')).Readable.from(['']), env: {} };
    expect(await main(['rewrite', '-c', dir, 'x'], io)).toBe(0);
    expect(out).toBe('x@vm.localdomain\n');
    expect(await main(['resolve', '-c', dir, 'x@localhost'], io)).toBe(0);
  });
});

describe('readdress resolve', () => {
  const dir = configDir('domains36');
  const fields = (input: string): string => {
    const r = domains36.resolve.find((x) => x.input === input)!;
    const unset = (s: string): string => (s === 'CHANNEL NOT UPDATED' || s === 'NEXTHOP NOT UPDATED' ? '-' : s);
    const cls = r.flags & 256 ? 'local' : r.flags & 512 ? 'alias' : r.flags & 1024 ? 'virtual' : r.flags & 2048 ? 'relay' : 'default';
    const extra = (r.flags & 2 ? ',routed' : '') + (r.flags & 4 ? ',error' : '');
    return `${unset(r.transport)}\t${unset(r.nexthop)}\t${r.recipient}\tclass=${cls}${extra}`;
  };
  it('prints TRANSPORT, NEXTHOP, RECIPIENT, FLAGS per address, as Postfix resolved them', async () => {
    const inputs = ['user@mail.example.com', 'user@valias.example', 'user@vmbox.example', 'user@x.relay.example', 'a%remote.example@mail.example.com', 'user@dom.ain1@dom.ain2', 'user@[321.1.2.3]'];
    const r = await runCaptured(resolveCmd, ['-c', dir, '--internal', ...inputs]);
    expect(r.stdout).toBe(inputs.map((i) => `${fields(i)}\n`).join(''));
    expect(r.code).toBe(0);
  });
  it('takes external (quoted) addresses by default: "x@y"@d is the internal x@y@d Postfix resolved; RECIPIENT quoted back', async () => {
    // Was: the quotes were taken literally, giving Postfix's answer for the internal form
    // "a@remote.example"@… (a broken recipient `"a@remote.example ` with class=default,error).
    const cases: Array<[string, string]> = [
      ['"a@remote.example"@mail.example.com', 'a@remote.example@mail.example.com'],
      ['"user@dom.ain1"@dom.ain2', 'user@dom.ain1@dom.ain2'],
      ['"a b"@mail.example.com', 'a b@mail.example.com'],
      ['"a b"@remote.example', 'a b@remote.example'],
      ['user@mail.example.com', 'user@mail.example.com'],
    ];
    const r = await runCaptured(resolveCmd, ['-c', dir, ...cases.map(([ext]) => ext)]);
    const want = cases.map(([, internal]) => {
      const [t, n, rcpt, f] = fields(internal).split('\t');
      return `${t}\t${n}\t${quote822Local(rcpt!)}\t${f}\n`;
    });
    expect(r.stdout).toBe(want.join(''));
    expect(r.stdout.split('\n')[0]).toBe('smtp\t[10.0.0.1]:2525\ta@remote.example\tclass=default');
    expect(r.stdout.split('\n')[1]).toBe('smtp\t[10.0.0.1]:2525\t"user@dom.ain1"@dom.ain2\tclass=default,routed');
    // --internal keeps the literal quotes (Postfix's own answer for that internal form).
    const lit = await runCaptured(resolveCmd, ['-c', dir, '--internal', '"a@remote.example"@mail.example.com']);
    expect(lit.stdout).toBe(`${fields('"a@remote.example"@mail.example.com')}\n`);
  });
  it('reads stdin, prefixes each line with the address, warns about doubly listed domains', async () => {
    const r = await runCaptured(resolveCmd, ['-c', dir], 'user@dup.example\n');
    expect(r.stdout).toBe(`user@dup.example\t${fields('user@dup.example')}\n`);
    expect(r.stderr).toBe('readdress resolve: warning: do not list domain dup.example in BOTH virtual_alias_domains and virtual_mailbox_domains\n');
  });
  it('exits 75 with the reason on stderr when a lookup fails', async () => {
    const r = await runCaptured(resolveCmd, ['-c', dir, '-o', 'relay_domains=fail:broken', 'user@remote.example']);
    expect(r.code).toBe(75);
    expect(r.stdout).toBe('-\t-\tuser@remote.example\tclass=-,fail\n');
    expect(r.stderr).toMatch(/relay_domains lookup failure/);
  });
  it('applies transport_maps and relocated_maps as Postfix\'s trivial-rewrite does', async () => {
    const tables = oracle.configs.find((c) => c.name === 'tables')!;
    const inputs = ['joe+x@remote.example', 'u@a.sub.example.com', 'u@elsewhere.example', 'old+x@localhost', 'bad@remote.example'];
    const want = inputs.map((i) => {
      const r = tables.resolve.find((x) => x.input === i)!;
      const cls = r.flags & 256 ? 'local' : r.flags & 2048 ? 'relay' : 'default';
      return `${r.transport}\t${r.nexthop}\t${r.recipient}\tclass=${cls}\n`;
    }).join('');
    const r = await runCaptured(resolveCmd, ['-c', configDir('tables'), ...inputs]);
    expect(r.stdout).toBe(want);
  });
  it('--sender feeds the sender-dependent tables (<> = null sender), as Postfix resolved them', async () => {
    const sender = oracle.configs.find((c) => c.name === 'sender')!;
    const dir = configDir('sender');
    for (const s of ['alice@example.org', '<>', 'x@partner.example']) {
      const r = sender.resolve.find((x) => x.sender === (s === '<>' ? '' : s) && x.input === 'u@remote.example')!;
      const out = await runCaptured(resolveCmd, ['-c', dir, '--sender', s, 'u@remote.example']);
      expect(out.stdout).toBe(`${r.transport}\t${r.nexthop}\tu@remote.example\tclass=default\n`);
    }
  });
  it('--json gives the full result', async () => {
    const r = await runCaptured(resolveCmd, ['-c', dir, '--json', 'user@x.relay.example']);
    expect(JSON.parse(r.stdout)).toEqual([{
      input: 'user@x.relay.example', transport: 'relay', nexthop: '[10.0.0.1]:2525', recipient: 'user@x.relay.example',
      flags: 2048, addressClass: 'relay', flagNames: ['CLASS_RELAY'],
    }]);
  });
});
