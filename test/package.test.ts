/**
 * The published shape of the package: every entry point of the `exports` map loads with both
 * `import` and `require` from the built dist/, and `readdress --help` lists the commands.
 * dist/ is built by `npm ci` (the `prepare` script); it is rebuilt here when missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Record<string, unknown> };
const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  if (!existsSync(`${root}dist/cli/main.js`)) execFileSync('npx', ['tsup'], { cwd: root, stdio: 'ignore' });
}, 180_000);

describe('package entry points', () => {
  it.each(subpaths)('%s loads with import and require and exports the same names', (sub) => {
    const spec = sub === '.' ? 'readdress' : `readdress/${sub.slice(2)}`;
    const esm = node(['--input-type=module', '-e', `const m = await import(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').sort()))`]);
    const cjs = node(['-e', `const m = require(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(m).sort()))`]);
    const esmNames = JSON.parse(esm) as string[];
    expect(esmNames.length).toBeGreaterThan(0);
    expect(JSON.parse(cjs)).toEqual(esmNames);
  });

  it('the root entry exposes the typed errors to both module systems', () => {
    const out = node(['-e', `const { ConfigError, ReaddressError } = require('readdress'); console.log(new ConfigError('X', 'm') instanceof ReaddressError)`]);
    expect(out.trim()).toBe('true');
  });

  it('readdress --help lists every command', () => {
    const out = node(['bin/readdress.js', '--help']);
    for (const cmd of ['serve', 'postconf', 'postmap', 'postalias', 'newaliases', 'sendmail', 'mailq', 'postqueue', 'postsuper', 'postcat', 'rewrite', 'resolve', 'verify']) {
      expect(out).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    }
  });
});
