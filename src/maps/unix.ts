/**
 * `unix:passwd.byname` (and `unix:group.byname`): the system user (group) database as a
 * fixed-key table, Postfix's dict_unix. The value is the entry in /etc/passwd form
 * `name:passwd:uid:gid:gecos:dir:shell` (group: `name:passwd:gid:member,member`). Used by
 * `local_recipient_maps = proxy:unix:passwd.byname $alias_maps`. Reads `/etc/passwd`
 * (`/etc/group`) — or {@link OpenOptions.passwdFile} — at open time; the first entry of a
 * name wins, as getpwnam() returns it. Other names fail with "unknown table".
 */
import { readFileSync } from 'node:fs';
import { MapError } from '../errors.js';
import { errnoText } from './cdbfile.js';
import { memoryTable } from './memory.js';
import type { Table } from './types.js';
import type { OpenOptions } from './registry.js';
import { maybeFold } from './fold.js';

/** Parse passwd(5)/group(5) text into `name → normalized entry`. */
export function parseUnixDb(text: string, kind: 'passwd' | 'group'): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const f = line.split(':');
    if (kind === 'passwd') {
      if (f.length < 7 || !/^\d+$/.test(f[2] as string) || !/^\d+$/.test(f[3] as string)) continue;
      out.push([f[0] as string, `${f[0]}:${f[1]}:${Number(f[2])}:${Number(f[3])}:${f[4]}:${f[5]}:${f.slice(6).join(':')}`]);
    } else {
      if (f.length < 4 || !/^\d+$/.test(f[2] as string)) continue;
      out.push([f[0] as string, `${f[0]}:${f[1]}:${Number(f[2])}:${f.slice(3).join(':')}`]);
    }
  }
  return out;
}

/** Factory for `unix:` (see registry.ts). */
export function openUnixTable(name: string, opts: OpenOptions, spec: string): Table & { lookupSync(key: string, flags?: number): string | undefined } {
  let kind: 'passwd' | 'group';
  let file: string;
  if (name === 'passwd.byname') {
    kind = 'passwd';
    file = opts.passwdFile ?? '/etc/passwd';
  } else if (name === 'group.byname') {
    kind = 'group';
    file = opts.groupFile ?? '/etc/group';
  } else {
    throw new MapError('MAP_UNKNOWN', `unknown table: ${spec}`, {}, { temporary: true });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MapError('MAP_OPEN', `open ${file}: ${errnoText(e)}`, {}, { cause: e, temporary: true });
  }
  // getpwnam() is case-sensitive; Postfix still folds the query key when the table folds.
  const fold = opts.fold ?? true;
  const entries = parseUnixDb(text, kind);
  const byName = new Map<string, string>();
  for (const [k, v] of entries) if (!byName.has(k)) byName.set(k, v);
  const t = memoryTable(spec, byName, { fold: false });
  const lookupSync = (key: string, flags?: number): string | undefined => t.lookupSync(maybeFold(key, fold, flags));
  // No entries(): like Postfix ("sequence operation is not supported"), the user database is not listed.
  return { name: spec, kind: 'fixed', warnings: [], lookupSync, lookup: async (key, flags) => lookupSync(key, flags) };
}
