import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extensionSplit, extensionStart, stripExtension } from '../../src/route/addr-util.js';

const units = JSON.parse(readFileSync(new URL('../fixtures/pipeline/postfix-units.json', import.meta.url), 'utf8')) as {
  stripAddr: [string, string, string | null, string | null][];
  splitAddr: [string, string, boolean, string, string | null][];
};

describe('strip_addr vectors (Postfix strip_addr.ref)', () => {
  for (const [input, delims, stripped, ext] of units.stripAddr) {
    it(`${input} with "${delims}"`, () => {
      const r = stripExtension(input, extensionSplit(delims));
      expect(r?.[0] ?? null).toBe(stripped);
      if (ext !== null) expect(r?.[1]).toBe(ext);
    });
  }
});

describe('split_addr rules', () => {
  for (const [local, delims, ownerReq, user, ext] of units.splitAddr) {
    it(`${local} with "${delims}"${ownerReq ? '' : ' (owner_request_special = no)'}`, () => {
      const pos = extensionStart(local, extensionSplit(delims, ownerReq));
      expect(pos < 0 ? local : local.slice(0, pos)).toBe(user);
      expect(pos < 0 ? null : local.slice(pos)).toBe(ext);
    });
  }
});
