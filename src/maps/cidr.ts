/**
 * `cidr:FILE` — network-address tables (Postfix's dict_cidr, cidr_table(5)): rules
 * `network/prefix result`, `address result`, `!pattern result`, `if pattern` … `endif`,
 * matched in file order against an IPv4 or IPv6 address key (compared in binary, so `::f4`
 * equals `0:0:0:0:0:0:0:f4`). First match wins, not the longest prefix. Addresses follow
 * inet_pton(): IPv4 octets with leading zeros are rejected. Keys that are not addresses are
 * simply not found.
 */
import type { Warning } from '../errors.js';
import { readFileSync } from 'node:fs';
import { resolveName } from './hash.js';
import { buildRules, rhsFromFiles, ruleTable, skipSpace, type Matcher, type ParsedLine } from './patterns.js';
import { patternSource } from './regexp.js';
import type { OpenOptions } from './registry.js';
import { isSpaceCode, trimEnd, type LogicalLine } from './source.js';
import type { Table } from './types.js';

/** Parse a dotted quad as inet_pton(AF_INET) does; 4 bytes or null. */
export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** Parse an IPv6 address as inet_pton(AF_INET6) does (with an optional trailing dotted quad). */
export function parseIPv6(s: string): Uint8Array | null {
  let text = s;
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) return null;
  if (s.indexOf('.', lastColon) >= 0) {
    const t = parseIPv4(s.slice(lastColon + 1));
    if (!t) return null;
    const hi = (((t[0] as number) << 8) | (t[1] as number)).toString(16);
    const lo = (((t[2] as number) << 8) | (t[3] as number)).toString(16);
    text = `${s.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const dbl = text.indexOf('::');
  if (dbl >= 0 && text.indexOf('::', dbl + 1) >= 0) return null;
  let groups: string[];
  if (dbl >= 0) {
    const l = text.slice(0, dbl);
    const r = text.slice(dbl + 2);
    const lg = l === '' ? [] : l.split(':');
    const rg = r === '' ? [] : r.split(':');
    if (lg.length + rg.length > 7) return null;
    groups = [...lg, ...new Array<string>(8 - lg.length - rg.length).fill('0'), ...rg];
  } else {
    groups = text.split(':');
    if (groups.length !== 8) return null;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  return out;
}

/** Format as inet_ntop() does (glibc: longest run of ≥2 zero groups becomes `::`). */
export function formatIP(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[i * 2] as number) << 8) | (b[i * 2 + 1] as number));
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) best = -1;
  // IPv4-compatible/mapped forms print the last 32 bits as a dotted quad.
  const v4tail = best === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff));
  const parts: string[] = [];
  const end = v4tail ? 6 : 8;
  for (let i = 0; i < end; i++) {
    if (i === best) {
      parts.push(i === 0 ? ':' : '');
      i += bestLen - 1;
      if (i === end - 1) parts.push('');
      continue;
    }
    parts.push((g[i] as number).toString(16));
  }
  let s = parts.join(':');
  if (v4tail) s += (s.endsWith(':') ? '' : ':') + Array.from(b.subarray(12)).join('.');
  return s;
}

/** Parse a lookup key: v4 if it has no `:`, else v6 (as Postfix decides). */
export function parseKeyAddress(key: string): Uint8Array | null {
  return key.indexOf(':') >= 0 ? parseIPv6(key) : parseIPv4(key);
}

/** A compiled address pattern. */
export interface CidrPattern {
  addr: Uint8Array;
  prefix: number;
}

/** Does `a` fall in `p`? (Families must match.) */
export function cidrMatch(p: CidrPattern, a: Uint8Array): boolean {
  if (a.length !== p.addr.length) return false;
  const full = p.prefix >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== p.addr[i]) return false;
  const rem = p.prefix & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((a[full] as number) & mask) === (p.addr[full] as number);
}

/** Parse `addr`, `addr/len`, `[addr]`, `[addr]/len`; returns the pattern or Postfix's error text. */
export function parseCidrPattern(text: string): CidrPattern | { error: string } {
  let addrText = text;
  let maskText: string | undefined;
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']');
    if (close < 0) return { error: `missing ']' character after "${text}"` };
    addrText = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after !== '' && after.charCodeAt(0) !== 0x2f /* / */) return { error: `garbage after "${text.slice(0, close + 1)}"` };
    if (after !== '') maskText = after.slice(1);
  } else {
    const slash = text.indexOf('/');
    if (slash >= 0) {
      addrText = text.slice(0, slash);
      maskText = text.slice(slash + 1);
    }
  }
  const v6 = addrText.indexOf(':') >= 0;
  const bits = v6 ? 128 : 32;
  if (maskText !== undefined) {
    if (!/^[0-9]+$/.test(maskText)) return { error: `bad mask value in "${text}"` };
    const prefix = Number(maskText);
    if (prefix > bits) return { error: `bad mask length in "${text}"` };
    const addr = v6 ? parseIPv6(addrText) : parseIPv4(addrText);
    if (!addr) return { error: `bad network value in "${text}"` };
    const net = addr.slice();
    for (let bit = prefix; bit < bits; bit++) net[bit >> 3] = (net[bit >> 3] as number) & ~(0x80 >> (bit & 7));
    for (let i = 0; i < net.length; i++) {
      if (net[i] !== addr[i]) {
        return { error: `non-null host address bits in "${text}", perhaps you should use "${formatIP(net)}/${prefix}" instead` };
      }
    }
    return { addr: net, prefix };
  }
  const addr = v6 ? parseIPv6(addrText) : parseIPv4(addrText);
  if (!addr) return { error: `bad address pattern: "${text}"` };
  return { addr, prefix: bits };
}

/** Build a cidr table from logical lines (files, inline forms, tests). */
export function cidrTableFromLines(spec: string, label: string, lines: LogicalLine[], opts: OpenOptions = {}): Table & {
  lookupSync(key: string): string | undefined;
} {
  const warnings: Warning[] = [];
  const where = `cidr map ${label}`;
  const warn = (line: number, message: string): void => {
    warnings.push({ code: 'MAP_SYNTAX', file: where, line, message });
  };
  const alnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  const parseLine = (ll: LogicalLine): ParsedLine => {
    const s = trimEnd(ll.text);
    let p = 0;
    let op: 'match' | 'if' = 'match';
    if (/^if/i.test(s) && !alnum(s.charCodeAt(2))) {
      op = 'if';
      p = skipSpace(s, 2);
    } else if (/^endif/i.test(s) && !alnum(s.charCodeAt(5))) {
      if (skipSpace(s, 5) < s.length) {
        warn(ll.line, 'garbage after ENDIF: skipping this rule');
        return null;
      }
      return { kind: 'endif' };
    }
    let negate = false;
    while (s.charCodeAt(p) === 0x21 /* ! */) {
      negate = !negate;
      p = skipSpace(s, p + 1);
    }
    let e = p;
    // IF takes the whole rest as its pattern; a rule splits pattern and result at whitespace.
    if (op === 'if') e = s.length;
    else while (e < s.length && !isSpaceCode(s.charCodeAt(e))) e++;
    const pattern = s.slice(p, e);
    const value = s.slice(skipSpace(s, e));
    if (pattern === '') {
      warn(ll.line, 'no address pattern: skipping this rule');
      return null;
    }
    if (op === 'match' && value === '') {
      warn(ll.line, 'no lookup result: skipping this rule');
      return null;
    }
    const pat = parseCidrPattern(pattern);
    if ('error' in pat) {
      warn(ll.line, `${pat.error}: skipping this rule`);
      return null;
    }
    const test: Matcher = (key) => {
      const a = keyAddress(key);
      return a && cidrMatch(pat, a) ? MATCHED : null;
    };
    if (op === 'if') return { kind: 'if', test, negate };
    let result = value;
    if (opts.rhsIsFile) {
      const f = rhsFromFiles(value, (p) => readFileSync(resolveName(p, opts), 'latin1'));
      if ('error' in f) {
        warn(ll.line, `${f.error}: skipping this rule`);
        return null;
      }
      result = f.value;
    }
    return { kind: 'match', test, negate, result: [result] };
  };
  const rules = buildRules(lines, parseLine, warn, 'ENDIF without IF: skipping this rule');
  if (opts.onWarning) for (const w of warnings) opts.onWarning(w);
  const table = ruleTable(spec, rules, warnings);
  return table;
}

const MATCHED: ArrayLike<string | undefined> = [];

// Every rule parses the same key: remember the last one (lookups are synchronous).
let lastKey: string | undefined;
let lastAddr: Uint8Array | null = null;
function keyAddress(key: string): Uint8Array | null {
  if (key !== lastKey) {
    lastAddr = parseKeyAddress(key);
    lastKey = key;
  }
  return lastAddr;
}

/** Factory for `cidr:` (see registry.ts). */
export function openCidrTable(name: string, opts: OpenOptions, spec: string): Table {
  const src = patternSource('cidr', name, opts);
  for (const w of src.warnings) opts.onWarning?.(w);
  const t = cidrTableFromLines(spec, src.label, src.lines, opts);
  return { ...t, warnings: [...src.warnings, ...(t.warnings ?? [])] };
}
