/** Shared helpers for the table vector tests (fixtures copied from the shared vectors). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Warning } from '../../../src/errors.js';

export interface Lookup {
  key: string;
  expected: string | null;
}

export interface PatternVector {
  table: string;
  expectedWarnings: string[];
  lookups: Lookup[];
  missingEndif: { table: string; expectedWarnings: string[]; lookups: Lookup[] };
  rhsIsFile: { table: string; expectedWarnings: string[]; lookups: Lookup[] };
}

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/maps/${name}`, import.meta.url), 'utf8')) as T;
}

/** A fresh temporary directory. */
export function tmpDir(prefix = 'readdress-maps-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Write files into dir; returns dir. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [n, t] of Object.entries(files)) writeFileSync(path.join(dir, n), t);
  return dir;
}

/** `line N: message` as the vectors spell warnings (without the map name prefix). */
export function lineWarnings(ws: readonly Warning[] | undefined): string[] {
  return (ws ?? []).map((w) => (w.line !== undefined ? `line ${w.line}: ${w.message}` : w.message));
}
