/**
 * `texthash:FILE`: a fixed-key table read straight from its postmap source at open time (no
 * compile step), Postfix's dict_thash. Same source syntax as postmap (src/maps/source.ts);
 * duplicate keys keep the first value with the warning `FILE, line N: duplicate entry: "key"`.
 * Note: Postfix re-reads a source file modified within the current second (it waits for the
 * writer), so its warnings can repeat; readdress reads once.
 */
import { readFileSync } from 'node:fs';
import { MapError, type Warning } from '../errors.js';
import { errnoText } from './cdbfile.js';
import { resolveName } from './hash.js';
import { memoryTable, type MemoryTable } from './memory.js';
import type { OpenOptions } from './registry.js';
import { logicalLines, parseKeyValue } from './source.js';
import { foldKey } from './fold.js';

/** Factory for `texthash:` (see registry.ts). */
export function openTexthashTable(name: string, opts: OpenOptions, spec: string): MemoryTable {
  let text: string;
  try {
    text = readFileSync(resolveName(name, opts), 'utf8');
  } catch (e) {
    throw new MapError('MAP_OPEN', `open database ${name}: ${errnoText(e)}`, {}, { cause: e, temporary: true });
  }
  const fold = opts.fold ?? true;
  const warnings: Warning[] = [];
  const seen = new Set<string>();
  const pairs: Array<[string, string]> = [];
  // Line by line, so warnings come out in Postfix's order (syntax, then duplicate, per line).
  for (const ll of logicalLines(text, name, warnings)) {
    const kv = parseKeyValue(ll, name, warnings);
    if (!kv) continue;
    const k = fold ? foldKey(kv.key) : kv.key;
    if (seen.has(k)) {
      warnings.push({ code: 'MAP_DUPLICATE', file: name, line: kv.line, message: `duplicate entry: "${kv.key}"` });
      continue;
    }
    seen.add(k);
    pairs.push([k, kv.value]);
  }
  if (opts.onWarning) for (const w of warnings) opts.onWarning(w);
  return memoryTable(spec, pairs, { fold, warnings });
}
