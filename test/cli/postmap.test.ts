/**
 * Replays test/fixtures/maps/real/CASE/steps against readdress postmap/postalias and compares
 * stdout, stderr and exit code byte for byte with what real Postfix 3.7.11 printed
 * (recorded by test/fixtures/maps/record.sh).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../../src/cli/io.js';
import { run as newaliases } from '../../src/cli/newaliases.js';
import { run as postalias } from '../../src/cli/postalias.js';
import { run as postmap } from '../../src/cli/postmap.js';
import { tmpDir } from '../maps/helpers/vectors.js';

const fixtures = new URL('../fixtures/maps/', import.meta.url).pathname;
const realDir = path.join(fixtures, 'real');

/** Split a command line as sh would for the quoting used in steps files. */
function shellWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "'") {
      const e = s.indexOf("'", i + 1);
      cur += s.slice(i + 1, e);
      i = e;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === '\\' && (s[j + 1] === '"' || s[j + 1] === '\\')) j++;
        cur += s[j];
      }
      i = j;
      inWord = true;
    } else if (c === '\\') {
      cur += s[++i] ?? '';
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

const cases = readdirSync(realDir).filter((d) => statSync(path.join(realDir, d)).isDirectory()).sort();
const cwd0 = process.cwd();

describe('postmap/postalias against recorded Postfix 3.7.11 output', () => {
  afterAll(() => process.chdir(cwd0));
  for (const name of cases) {
    it(name, async () => {
      const src = path.join(realDir, name);
      const work = tmpDir('readdress-postmap-');
      mkdirSync(path.join(work, '.conf'));
      const ownCf = path.join(src, 'main.cf');
      const mainCf = readFileSync(existsSync(ownCf) ? ownCf : path.join(fixtures, 'real-main.cf'), 'utf8');
      writeFileSync(path.join(work, '.conf', 'main.cf'), mainCf.replaceAll('@WORK@', work));
      const old = new Date('2020-01-01T00:00:00');
      for (const f of readdirSync(src)) {
        const p = path.join(src, f);
        if (f === 'steps' || !statSync(p).isFile()) continue;
        cpSync(p, path.join(work, f));
        utimesSync(path.join(work, f), old, old);
      }
      const steps = readFileSync(path.join(src, 'steps'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      process.chdir(work);
      try {
        let n = 0;
        const got: unknown[] = [];
        const want: unknown[] = [];
        for (let step of steps) {
          n++;
          const exp = (suffix: string): string => readFileSync(path.join(src, 'expected', `${n}.${suffix}`), 'utf8');
          let sort = false;
          let noyp = false;
          for (;;) {
            if (step.startsWith('@sort ')) [sort, step] = [true, step.slice(6)];
            else if (step.startsWith('@noyp ')) [noyp, step] = [true, step.slice(6)];
            else break;
          }
          if (step.startsWith('!touch ')) {
            const [file, date] = step.slice(7).split(' ') as [string, string];
            const t = new Date(`${date}T00:00:00`);
            utimesSync(file, t, t);
            continue;
          }
          let stdin = '';
          const lt = step.lastIndexOf(' < ');
          if (lt >= 0) {
            stdin = readFileSync(step.slice(lt + 3), 'utf8');
            step = step.slice(0, lt);
          }
          const [tool, ...args] = shellWords(step);
          let r: { code: number; stdout: string; stderr: string };
          if (tool === 'newaliases') {
            const saved = process.env.MAIL_CONFIG;
            process.env.MAIL_CONFIG = path.join(work, '.conf');
            try {
              r = await runCaptured(newaliases, args, stdin);
            } finally {
              if (saved === undefined) delete process.env.MAIL_CONFIG;
              else process.env.MAIL_CONFIG = saved;
            }
          } else {
            r = await runCaptured(tool === 'postalias' ? postalias : postmap, ['-c', '.conf', ...args], stdin);
          }
          r.stdout = r.stdout.replaceAll(work, '@WORK@');
          r.stderr = r.stderr.replaceAll(work, '@WORK@');
          let out = r.stdout;
          if (noyp) out = out.split('\n').filter((l) => !l.startsWith('YP_LAST_MODIFIED')).join('\n');
          if (sort) {
            const lines = out.split('\n').filter((l) => l !== '');
            lines.sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
            out = lines.map((l) => l + '\n').join('');
          }
          const label = `${name} step ${n}: ${step}`;
          got.push({ label, stdout: out, stderr: r.stderr, rc: r.code });
          want.push({ label, stdout: exp('out'), stderr: exp('err'), rc: Number(exp('rc').trim()) });
        }
        expect(got).toEqual(want);
      } finally {
        process.chdir(cwd0);
      }
    });
  }
});

interface TexthashPostmapVec {
  postmapQuotedKeys: { commands: string[]; expectedWarnings: string[]; expectedDump: string[] };
  postmapCaseFolding: { file: string; cases: Array<{ build: string; query: string; expected: string }> };
  postaliasCaseFolding: { file: string; cases: Array<{ build: string; query: string; expected: string }> };
  postmapFileValues: { expected: { warning: string; dumpValueFile1: string; FqFile1: string } };
  failTable: { expectedFatal: Record<string, string> };
}

describe('texthash-postmap.json vectors through the CLI', () => {
  const vec = JSON.parse(readFileSync(path.join(fixtures, 'texthash-postmap.json'), 'utf8')) as TexthashPostmapVec;
  const conf = tmpDir('readdress-postmap-conf-');
  writeFileSync(path.join(conf, 'main.cf'), '');
  /** Run "tool args" (optionally "echo X | tool args") in dir. */
  async function sh(dir: string, line: string): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdin = '';
    let cmdLine = line;
    const pipe = line.indexOf(' | ');
    if (pipe >= 0) {
      stdin = shellWords(line.slice(0, pipe)).slice(1).join(' ') + '\n';
      cmdLine = line.slice(pipe + 3);
    }
    const [tool, ...args] = shellWords(cmdLine);
    process.chdir(dir);
    try {
      return await runCaptured(tool === 'postalias' ? postalias : postmap, ['-c', conf, ...args], stdin);
    } finally {
      process.chdir(cwd0);
    }
  }

  it('postmapQuotedKeys: keys stored verbatim with quotes and backslashes', async () => {
    const dir = tmpDir();
    let stderr = '';
    for (const c of vec.postmapQuotedKeys.commands.slice(0, -1)) stderr += (await sh(dir, c)).stderr;
    expect(stderr).toBe(vec.postmapQuotedKeys.expectedWarnings.map((w) => `postmap: warning: ${w}\n`).join(''));
    const dump = (await sh(dir, 'postmap -s m')).stdout.split('\n').filter(Boolean).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(dump).toEqual(vec.postmapQuotedKeys.expectedDump);
  });

  for (const [tool, v] of [['postmap', vec.postmapCaseFolding], ['postalias', vec.postaliasCaseFolding]] as const) {
    for (const c of v.cases) {
      it(`${tool} case folding: ${c.build}; ${c.query}`, async () => {
        const dir = tmpDir();
        writeFileSync(path.join(dir, 'map.in'), v.file);
        expect((await sh(dir, c.build)).code).toBe(0);
        const r = await sh(dir, c.query);
        expect(r.stdout).toBe(`${c.expected}\n`);
        expect(r.code).toBe(0);
      });
    }
  }

  it('postmapFileValues: -F stores base64 of the file, -Fq decodes', async () => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'postmap-file-1'), 'this-is-file1');
    await sh(dir, 'echo file-1 postmap-file-1 | postmap -iF m');
    const r3 = await sh(dir, 'echo file-3 postmap-file-3 | postmap -iF m');
    expect(r3.stderr).toBe(`postmap: warning: ${vec.postmapFileValues.expected.warning}\n`);
    expect((await sh(dir, 'postmap -s m')).stdout).toBe(`file-1\t${vec.postmapFileValues.expected.dumpValueFile1}\n`);
    expect((await sh(dir, 'postmap -Fq file-1 m')).stdout).toBe(`${vec.postmapFileValues.expected.FqFile1}\n`);
  });

  for (const [cmd, fatal] of Object.entries(vec.failTable.expectedFatal)) {
    it(`fail table: ${cmd}`, async () => {
      const dir = tmpDir();
      const line = cmd.startsWith('postmap -i') ? `echo k v | ${cmd}` : cmd;
      const r = await sh(dir, line);
      expect(r.stderr).toBe(`postmap: fatal: ${fatal}\n`);
      expect(r.code).toBe(1);
    });
  }
});
