#!/usr/bin/env node
// Thin launcher: the CLI lives in the built bundle so `npx readdress` needs no TypeScript at run time.
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code ?? 0; },
  (err) => { process.stderr.write(`readdress: fatal: ${err?.message ?? err}\n`); process.exitCode = 1; },
);
