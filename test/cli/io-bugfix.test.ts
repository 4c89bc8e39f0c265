/**
 * A closed output pipe ends every command quietly, as SIGPIPE ends Postfix's tools: Postfix
 * 3.7.11 `postconf -d | true` exits 141 with nothing on stderr. readdress crashed with an
 * unhandled EPIPE stack trace. Runs the CLI in a real process (the pipe must be real).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = `node --import tsx ${JSON.stringify(path.join(root, 'test/helpers/cli.ts'))}`;
const conf = JSON.stringify(path.join(root, 'examples/small-company'));

describe('EPIPE', () => {
  for (const args of [`postconf -c ${conf} -d`, `postconf -c ${conf} -M`]) {
    it(`readdress ${args.replace(conf, 'DIR')} | true → exit 141, no message`, () => {
      // The command starts after `true` has exited, so every write meets a closed pipe; its
      // stderr goes to fd 4, our stdout.
      const r = spawnSync('bash', ['-c', `exec 4>&1; (sleep 0.3; exec ${cli} ${args} 2>&4) | true; exit "\${PIPESTATUS[0]}"`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      expect(r.stdout).toBe('');
      expect(r.status).toBe(141);
    });
  }
  it('helper sanity: output that fits is written in full, exit 0', () => {
    const r = spawnSync('bash', ['-c', `${cli} postconf -c ${conf} -h myhostname | cat`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).toBe('mail.example.com\n');
    expect(r.status).toBe(0);
  });
});
