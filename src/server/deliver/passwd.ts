/**
 * The passwd database as local(8) uses it (getpwnam): user name → uid, gid, home, shell.
 * Reads `/etc/passwd` (re-read when it changes). Lookups are by exact name; local(8) folds the
 * recipient to lower case before asking.
 */
import { readFileSync, statSync } from 'node:fs';

/** One passwd(5) entry (the fields local(8) uses). */
export interface PasswdEntry {
  /** Login name. */
  name: string;
  /** User ID. */
  uid: number;
  /** Login group ID. */
  gid: number;
  /** Home directory (`$home` in `forward_path`, base of `home_mailbox`, commands' `$HOME`). */
  home: string;
  /** Login shell (commands' `$SHELL`). */
  shell: string;
}

/** Parse passwd(5) text. Malformed lines are skipped. */
export function parsePasswd(text: string): Map<string, PasswdEntry> {
  const out = new Map<string, PasswdEntry>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    if (!out.has(f[0]!)) out.set(f[0]!, { name: f[0]!, uid, gid, home: f[5]!, shell: f[6]! });
  }
  return out;
}

/** A passwd lookup function. */
export type Getpwnam = (name: string) => PasswdEntry | undefined;

/** getpwnam over a passwd file (default `/etc/passwd`), cached by mtime. */
export function passwdFile(path = '/etc/passwd'): Getpwnam {
  let cache: Map<string, PasswdEntry> | undefined;
  let mtime = -1;
  return (name) => {
    try {
      const st = statSync(path);
      if (!cache || st.mtimeMs !== mtime) {
        cache = parsePasswd(readFileSync(path, 'utf8'));
        mtime = st.mtimeMs;
      }
    } catch {
      return undefined;
    }
    return cache.get(name);
  };
}
