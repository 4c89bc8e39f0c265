/**
 * mysql_table(5) configuration files and key escaping, without a server. Error texts are the ones
 * Postfix 3.7.11 prints (see test/fixtures/mysql/expected/invalid-*.json, recorded with postmap).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, MapError, type Warning } from '../../src/errors.js';
import { parseMysqlConfig, parseHost, readParameters } from '../../src/maps/mysql-config.js';
import { asciiFold, escapeMysql, openMysqlFromRegistry, utf8Fold, openMysqlTable, parseDomainList } from '../../src/maps/mysql.js';

const base = 'hosts = 127.0.0.1\ndbname = db\n';

function configError(text: string): ConfigError {
  try {
    parseMysqlConfig(text, '/etc/postfix/m.cf');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('escapeMysql (mysql_real_escape_string, backslash mode)', () => {
  const cases: Array<[string, string]> = [
    ['plain@example.com', 'plain@example.com'],
    ["o'brien", "o\\'brien"],
    ['say "hi"', 'say \\"hi\\"'],
    ['back\\slash', 'back\\\\slash'],
    ['nul\0x', 'nul\\0x'],
    ['lf\nx', 'lf\\nx'],
    ['cr\rx', 'cr\\rx'],
    ['ctrl-z\x1ax', 'ctrl-z\\Zx'],
    ['tab\tx', 'tab\tx'], // not escaped by the MySQL client (unlike some JS escapers)
    ['100%_', '100%_'], // LIKE wildcards are not escaped
    ['ünï', 'ünï'],
  ];
  for (const [input, want] of cases) it(JSON.stringify(input), () => expect(escapeMysql(input)).toBe(want));
});

describe('key folding', () => {
  const cases: Array<[string, string, string]> = [
    // [key, UTF-8 fold (smtputf8_enable = yes), ASCII fold]; UTF-8 results checked with postmap.
    ['ALICE@Example.COM', 'alice@example.com', 'alice@example.com'],
    ['STRAßE@Example.com', 'strasse@example.com', 'straße@example.com'],
    ['ΣΣ@example.com', 'σσ@example.com', 'ΣΣ@example.com'],
    ['σς@example.com', 'σσ@example.com', 'σς@example.com'],
    ['Ünï@Example.COM', 'ünï@example.com', 'Ünï@example.com'],
    ['İ@example.com', 'i̇@example.com', 'İ@example.com'],
  ];
  for (const [key, utf8, ascii] of cases) {
    it(key, () => {
      expect(utf8Fold(key)).toBe(utf8);
      expect(asciiFold(key)).toBe(ascii);
    });
  }
});

describe('reading the .cf file', () => {
  it('joins continuation lines verbatim, drops comment lines inside them, trims values', () => {
    const p = readParameters('query = SELECT a\n# comment\n    FROM t\n\tWHERE k = 1   \nuser=u\n', 'f');
    expect(p.get('query')).toEqual({ value: 'SELECT a    FROM t\tWHERE k = 1', line: 1 });
    expect(p.get('user')).toEqual({ value: 'u', line: 5 });
  });

  it('a later duplicate wins, with Postfix\'s warning naming the new line and the old value', () => {
    const w: Warning[] = [];
    const p = readParameters('password = a\npassword = b\npassword = b\n', 'f.cf', (x) => w.push(x));
    expect(p.get('password')!.value).toBe('b');
    expect(w.map((x) => [x.line, x.message])).toEqual([[2, 'overriding earlier entry: password=a']]);
  });

  it('a logical line that starts with whitespace is skipped with a warning', () => {
    const w: Warning[] = [];
    const p = readParameters('  user = x\nhosts = h\n', 'f.cf', (x) => w.push(x));
    expect(p.has('user')).toBe(false);
    expect(w[0]!.message).toBe('logical line must not start with whitespace: "  user = x"');
  });

  it('a line without = is an error naming file, line and text', () => {
    const e = configError(base + "query SELECT 1\n");
    expect(e.message).toBe(`/etc/postfix/m.cf, line 3: missing '=' after attribute name: "query SELECT 1"`);
    expect([e.file, e.line, e.text]).toEqual(['/etc/postfix/m.cf', 3, 'query SELECT 1']);
    expect(configError('= x\n').message).toContain('missing attribute name');
  });
});

describe('parameters', () => {
  it('applies Postfix\'s defaults', () => {
    const c = parseMysqlConfig(`dbname = d\nquery = SELECT v FROM t WHERE k='%s'\n`, 'm.cf');
    expect(c.hosts).toEqual([{ label: 'localhost', type: 'unix', name: undefined, port: 0 }]);
    expect([c.user, c.password, c.resultFormat, c.domain, c.expansionLimit, c.requireResultSet, c.optionGroup, c.optionFile]).toEqual([
      '', '', '%s', '', 0, true, 'client', undefined,
    ]);
  });

  it('builds the legacy query exactly as Postfix does (trailing space when no conditions)', () => {
    const seed = parseMysqlConfig(
      "user = u\npassWord = p\ndbname = d\ntable = mytable\nselect_field = forward_addr\nwhere_field = alias\nadditional_conditions = and status='paid'\nhosts = h\n",
      'm.cf',
    );
    expect(seed.query).toBe("SELECT forward_addr FROM mytable WHERE alias='%s' and status='paid'");
    expect(seed.password).toBe(''); // passWord is not password
    expect(parseMysqlConfig(base + 'table = t\nselect_field = v\nwhere_field = k\n', 'm.cf').query).toBe("SELECT v FROM t WHERE k='%s' ");
    // `query` wins over the legacy fields; an empty query means "not set".
    expect(parseMysqlConfig(base + 'query = SELECT 1\ntable = t\n', 'm.cf').query).toBe('SELECT 1');
    expect(parseMysqlConfig(base + 'query =\ntable = t\nselect_field = v\nwhere_field = k\n', 'm.cf').query).toBe("SELECT v FROM t WHERE k='%s' ");
  });

  it('reports unknown (case-sensitive) parameter names as warnings', () => {
    const w: Warning[] = [];
    parseMysqlConfig(base + 'query = SELECT 1\npassWord = x\nHosts = y\n', 'm.cf', (x) => w.push(x));
    expect(w.map((x) => x.text)).toEqual(['passWord', 'Hosts']);
  });

  const errors: Array<[string, string, number | undefined]> = [
    // Postfix's own wording (recorded from postmap), then the line we point at.
    [base + "query = SELECT '%x'\n", "Invalid query template: SELECT '%x'", 3],
    [base + 'query = SELECT 1\nresult_format = %s%\n', 'Invalid result template: %s%', 4],
    [base + 'query = SELECT 1\nrequire_result_set = maybe\n', 'bad boolean configuration: require_result_set = maybe', 4],
    [base + 'query = SELECT 1\nexpansion_limit = 1x\n', 'bad numerical configuration: expansion_limit = 1x', 4],
    ['hosts = h\nquery = SELECT 1\n', 'bad string length 0 < 1: dbname = ', undefined],
    [base + 'table = t\nwhere_field = k\n', 'bad string length 0 < 1: select_field = ', undefined],
    [base + 'query = SELECT 1\nresult_format =\n', 'bad string length 0 < 1: result_format = ', 4],
    [base + 'query = SELECT 1\ntls_verify_cert = 1\n', 'bad boolean configuration: tls_verify_cert = 1', 4],
    ['hosts = h:nosuchservice\ndbname = d\nquery = SELECT 1\n', 'unknown service: nosuchservice/tcp', 1],
  ];
  for (const [text, want, line] of errors) {
    it(`rejects: ${want}`, () => {
      const e = configError(text);
      expect(e.message).toContain(want);
      expect(e.file).toBe('/etc/postfix/m.cf');
      expect(e.line).toBe(line);
    });
  }

  it('accepts booleans in any case and signed integers', () => {
    const c = parseMysqlConfig(base + 'query = SELECT 1\nrequire_result_set = NO\nexpansion_limit = -3\ntls_verify_cert = Yes\n', 'm.cf');
    expect([c.requireResultSet, c.expansionLimit, c.tls.verifyCert]).toEqual([false, -3, true]);
  });
});

describe('hosts', () => {
  const cases: Array<[string, ReturnType<typeof parseHost>]> = [
    ['db1.example', { label: 'db1.example', type: 'inet', name: 'db1.example', port: 0 }],
    ['inet:db1.example:3307', { label: 'inet:db1.example:3307', type: 'inet', name: 'db1.example', port: 3307 }],
    ['10.0.0.1:mysql', { label: '10.0.0.1:mysql', type: 'inet', name: '10.0.0.1', port: 3306 }],
    ['unix:/run/mysqld/mysqld.sock', { label: 'unix:/run/mysqld/mysqld.sock', type: 'unix', name: '/run/mysqld/mysqld.sock', port: 0 }],
    ['localhost', { label: 'localhost', type: 'unix', name: undefined, port: 0 }],
    ['inet:LocalHost:3306', { label: 'inet:LocalHost:3306', type: 'unix', name: undefined, port: 3306 }], // MySQL: localhost = socket
    ['inet:[::1]:3306', { label: 'inet:[::1]:3306', type: 'inet', name: '::1', port: 3306 }],
  ];
  for (const [label, want] of cases) it(label, () => expect(parseHost(label)).toEqual(want));

  it('splits the list on commas and whitespace, keeping file order', () => {
    const c = parseMysqlConfig('hosts = a, b\tunix:/s ,, c:1\ndbname = d\nquery = SELECT 1\n', 'm.cf');
    expect(c.hosts.map((h) => h.label)).toEqual(['a', 'b', 'unix:/s', 'c:1']);
  });
});

describe('domain list', () => {
  it('parses names (case-folded), negations, tables and /file contents', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-mysql-domains-'));
    const f = path.join(dir, 'domains');
    writeFileSync(f, 'Listed.Example\n# comment\n!not.listed.example other.example\n');
    expect(parseDomainList(`Example.COM, !!x.example !bad.example hash:/etc/d ${f} !${f}`, 'm.cf')).toEqual([
      { negate: false, name: 'example.com' },
      { negate: false, name: 'x.example' },
      { negate: true, name: 'bad.example' },
      { negate: false, table: 'hash:/etc/d' },
      { negate: false, name: 'listed.example' },
      { negate: true, name: 'not.listed.example' },
      { negate: false, name: 'other.example' },
      { negate: true, name: 'listed.example' },
      { negate: false, name: 'not.listed.example' },
      { negate: true, name: 'other.example' },
    ]);
  });
  it('keeps inline tables with spaces together and stops at a # comment with a warning', () => {
    const w: Warning[] = [];
    expect(parseDomainList('inline:{ a.example=1, b.example=2 } c.example # trailing', 'm.cf', (x) => w.push(x))).toEqual([
      { negate: false, table: 'inline:{ a.example=1, b.example=2 }' },
      { negate: false, name: 'c.example' },
    ]);
    expect(w[0]!.message).toContain('comment at end of line is not supported');
  });
  it('rejects a lone ! and an unreadable /file', () => {
    expect(() => parseDomainList('!', 'm.cf')).toThrow("no pattern after '!'");
    expect(() => parseDomainList('/nonexistent/readdress/domains', 'm.cf')).toThrow(ConfigError);
  });
});

describe('opening', () => {
  it('a missing .cf file is a ConfigError naming it', async () => {
    await expect(openMysqlTable('/nonexistent/readdress/m.cf')).rejects.toMatchObject({ code: 'MAP_OPEN', file: '/nonexistent/readdress/m.cf' });
  });
  it('the obsolete main.cf form (mysql:name) reads main.cf from the config directory', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-mysql-maincf-'));
    const e = await openMysqlFromRegistry('mysqlsource', { configDir: dir }, 'mysql:mysqlsource').catch((x: unknown) => x);
    expect((e as Error).message).toContain(`open ${dir}/main.cf`);
    writeFileSync(path.join(dir, 'main.cf'), 'db = mail\nmysqlsource_hosts = 127.0.0.1, 127.0.0.2\nmysqlsource_dbname = $db\nmysqlsource_query = SELECT 1\nmysqlsource_require_result_set = maybe\n');
    const e2 = await openMysqlFromRegistry('mysqlsource', { configDir: dir }, 'mysql:mysqlsource').catch((x: unknown) => x);
    expect(e2).toBeInstanceOf(ConfigError);
    expect((e2 as ConfigError).message).toBe(`${dir}/main.cf: bad boolean configuration: mysqlsource_require_result_set = maybe`);
    writeFileSync(path.join(dir, 'main.cf'), 'db = mail\nmysqlsource_hosts = 127.0.0.1, 127.0.0.2\nmysqlsource_dbname = $db\nmysqlsource_query = SELECT 1\n');
    const t = await openMysqlFromRegistry('mysqlsource', { configDir: dir }, 'mysql:mysqlsource');
    expect(t.name).toBe('mysql:mysqlsource');
    expect(t.config.dbname).toBe('mail');
    expect(t.config.hosts.map((h) => h.label)).toEqual(['127.0.0.1', '127.0.0.2']);
    await t.close();
  });
  it('a domain list naming a table needs a table opener', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-mysql-open-'));
    const f = path.join(dir, 'm.cf');
    writeFileSync(f, base + 'query = SELECT 1\ndomain = hash:/etc/postfix/d\n');
    return expect(openMysqlTable(f)).rejects.toThrow(ConfigError);
  });
  it('a closed table refuses lookups with a MapError', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'readdress-mysql-open-'));
    const f = path.join(dir, 'm.cf');
    writeFileSync(f, base + 'query = SELECT 1\n');
    const t = await openMysqlTable(f);
    expect(t.kind).toBe('fixed');
    expect(t.name).toBe(`mysql:${f}`);
    await t.close();
    await expect(t.lookup('x')).rejects.toBeInstanceOf(MapError);
  });
});
