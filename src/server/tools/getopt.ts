/**
 * POSIX getopt(3) as the Postfix tools parse their arguments: clustered flags (`-hq`), option
 * arguments attached (`-cDIR`) or separate (`-c DIR`), `--` ends options, the first non-option
 * ends options too.
 */

export interface ParsedOptions {
  /** Options in order, with their argument when they take one. */
  opts: { flag: string; value?: string }[];
  rest: string[];
}

/** `spec` is getopt's optstring: letters, `:` after those that take an argument. */
export function getopt(args: string[], spec: string): ParsedOptions | { error: string } {
  const opts: { flag: string; value?: string }[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.length < 2 || a[0] !== '-') break;
    for (let j = 1; j < a.length; j++) {
      const f = a[j]!;
      const at = spec.indexOf(f);
      if (at < 0 || f === ':') return { error: `invalid option -- '${f}'` };
      if (spec[at + 1] === ':') {
        let v = a.slice(j + 1);
        if (v === '') {
          if (i + 1 >= args.length) return { error: `option requires an argument -- '${f}'` };
          v = args[++i]!;
        }
        opts.push({ flag: f, value: v });
        break;
      }
      opts.push({ flag: f });
    }
  }
  return { opts, rest: args.slice(i) };
}
