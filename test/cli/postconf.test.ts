import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../../src/cli/io.js';
import { createPostconf, run as postconfHere } from '../../src/cli/postconf.js';
import type { HostInfo } from '../../src/config/defaults.js';

/**
 * Recorded by test/fixtures/record-postconf.sh from real Postfix 3.7.11 postconf on the dev
 * machine. Each run is replayed against `readdress postconf` with the same main.cf/master.cf and
 * the recorded host facts (host name, interfaces), so host-derived values are comparable anywhere.
 */
interface Run { name: string; args: string[]; mainCf: string; masterCf: string | null; configDir: string; stdout: string; stderr: string[]; rc: number; mainCfAfter?: string; files?: Record<string, string> }
const recorded = JSON.parse(readFileSync(new URL('../fixtures/config/postconf-recorded.json', import.meta.url), 'utf8')) as { host: HostInfo; cases: Run[] };
const postconf = createPostconf({ host: recorded.host });

const root = mkdtempSync(join(tmpdir(), 'readdress-postconf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function setup(r: Run): string {
  const dir = join(root, r.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // @DIR@ stands for the config directory in the recorded files.
  const here = (t: string) => t.split('@DIR@').join(dir);
  writeFileSync(join(dir, 'main.cf'), here(r.mainCf));
  if (r.masterCf !== null) writeFileSync(join(dir, 'master.cf'), here(r.masterCf));
  for (const [f, text] of Object.entries(r.files ?? {})) writeFileSync(join(dir, f), here(text));
  return dir;
}

// postconf's own pid is in process_id; nothing else differs between runs.
const maskPid = (s: string) => s.replace(/^process_id = \d+$/m, 'process_id = PID');
// Postfix lists unused/undefined-parameter and read-only warnings in the order of a hash table
// that 3.7 randomizes per process; readdress in main.cf order. Compare those as multisets.
const unordered = (l: string) => l.includes(': unused parameter: ') || l.includes(': read-only parameter assignment: ')
  || l.includes(': undefined parameter: ');
const normErr = (lines: string[]) => [...lines.filter((l) => !unordered(l)), ...lines.filter(unordered).sort()];

describe('readdress postconf vs recorded Postfix 3.7.11 postconf', () => {
  it('has the recorded runs', () => expect(recorded.cases.length).toBeGreaterThan(50));
  for (const r of recorded.cases) {
    it(`${r.name}: postconf ${r.args.join(' ').slice(0, 80)}`, async () => {
      const dir = setup(r);
      const out = await runCaptured(postconf, ['-c', dir, ...r.args]);
      const sub = (s: string) => s.split(r.configDir).join(dir);
      expect(maskPid(out.stdout)).toBe(maskPid(sub(r.stdout)));
      expect(normErr(out.stderr.split('\n').filter((l) => l !== ''))).toEqual(normErr(r.stderr.map(sub)));
      expect(out.code).toBe(r.rc);
      // Editing runs (-e, -X, -#): main.cf afterwards, line for line. Postfix appends several new
      // names in a per-process random order, so lines are compared as a multiset.
      const lines = (t: string) => t.split('\n').sort();
      expect(lines(readFileSync(join(dir, 'main.cf'), 'utf8'))).toEqual(lines((r.mainCfAfter ?? r.mainCf).split('@DIR@').join(dir)));
    });
  }
});

describe('host-derived defaults on this machine', () => {
  const sameHost = hostname() === recorded.host.hostname;
  it.runIf(sameHost)('prints the recorded myhostname/mydomain/mynetworks (same host name as the recording)', async () => {
    const r = recorded.cases.find((c) => c.name === 'defaults' && c.args.join(' ') === '-d') as Run;
    expect(r).toBeDefined();
    const dir = setup(r);
    // The real machine's facts this time, not the recorded ones.
    const out = await runCaptured(postconfHere, ['-c', dir, '-d', 'myhostname', 'mydomain', 'mynetworks']);
    const want = r.stdout.split('\n').filter((l) => /^(myhostname|mydomain|mynetworks) = /.test(l));
    expect(want).toHaveLength(3);
    expect(out.stdout.split('\n').filter(Boolean).sort()).toEqual(want.sort());
  });
  it('derives myhostname from the host name as Postfix does', async () => {
    const dir = join(root, 'derive');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.cf'), '');
    writeFileSync(join(dir, 'master.cf'), '');
    const h = hostname();
    const out = await runCaptured(postconfHere, ['-c', dir, '-dh', 'myhostname', 'mydomain']);
    const myhostname = h.includes('.') ? h : `${h}.localdomain`;
    const dot = myhostname.indexOf('.');
    expect(out.stdout).toBe(`${myhostname}\n${myhostname.slice(dot + 1)}\n`);
  });
});

describe('postconf options', () => {
  it('rejects an unknown option as postconf does', async () => {
    const out = await runCaptured(postconf, ['-z']);
    expect(out.code).toBe(1);
    expect(out.stderr.split('\n')[0]).toBe("postconf: invalid option -- 'z'");
    expect(out.stderr).toMatch(/^postconf: fatal: usage: postconf /m);
  });
  it('-m lists the table types readdress can open', async () => {
    const dir = join(root, 'm');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.cf'), '');
    const out = await runCaptured(postconf, ['-c', dir, '-m']);
    const types = out.stdout.split('\n').filter(Boolean);
    expect(types).toEqual([...types].sort());
    for (const t of ['cidr', 'hash', 'inline', 'pcre', 'regexp', 'static', 'texthash']) expect(types).toContain(t);
  });
  it('takes the config directory from MAIL_CONFIG, which makes config_directory explicit', async () => {
    const dir = join(root, 'env');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.cf'), 'myorigin = x\n');
    writeFileSync(join(dir, 'master.cf'), '');
    const saved = process.env.MAIL_CONFIG;
    process.env.MAIL_CONFIG = dir;
    try {
      const out = await runCaptured(postconf, ['-n']);
      // Postfix 3.7.11 prints exactly this for MAIL_CONFIG=DIR postconf -n.
      expect(out.stdout).toBe(`config_directory = ${dir}\nmyorigin = x\n`);
    } finally {
      if (saved === undefined) delete process.env.MAIL_CONFIG; else process.env.MAIL_CONFIG = saved;
    }
  });
  it('fails when main.cf is missing, naming it', async () => {
    const out = await runCaptured(postconf, ['-c', join(root, 'nonexistent'), 'myorigin']);
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(`postconf: fatal: open ${join(root, 'nonexistent', 'main.cf')}: No such file or directory\n`);
  });
});
