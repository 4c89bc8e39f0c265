/**
 * `readdress sendmail` — Postfix's sendmail(1) compatibility interface:
 *
 *   readdress sendmail [-i] [-t] [-f sender] [-F fullname] [-N dsn] [-R ret] [-V envid]
 *                      [-C DIR] [-bm | -bv | -bs | -bp | -bi | -q | -qRsite] [-oi] [-o...] [recipient...]
 *
 * Submits the message on stdin through cleanup (local header context) into the queue and wakes
 * the queue manager. -bp lists the queue (mailq), -q / -qRsite flush it (postqueue -f / -s),
 * -bv verifies the recipients instead (a probe that is not delivered; the sender is mailed a
 * "Mail Delivery Status Report"), -bs speaks SMTP on stdin/stdout as smtpd does,
 * -bi / -I rebuild the alias database (newaliases). Without -i / -oi a line with a single `.`
 * ends the message. With -t the recipients come from To/Cc/Bcc (Bcc removed).
 */
import { userInfo } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Command } from './io.js';
import { ToolFatal, runTool, toolContext } from '../server/tools/context.js';
import { extractRecipients, probeContent, submitLocal } from '../server/tools/submit.js';
import { postqueue } from './postqueue.js';

/** The GECOS full name (up to the first comma) of the invoking user, if any. */
function gecosName(): string | undefined {
  try {
    const uid = String(process.getuid?.() ?? '');
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === uid);
    const gecos = line?.split(':')[4]?.split(',')[0]?.trim();
    return gecos || undefined;
  } catch {
    return undefined;
  }
}

/** `user(uid)`, as Postfix's sendmail names the submitter in its fatal messages. */
function who(): string {
  return `${userInfo().username}(${process.getuid?.() ?? 0})`;
}

export const run: Command = (args, io) =>
  runTool('sendmail', io, async () => {
    let sender: string | undefined;
    let fullName: string | undefined;
    let dotEnds = true;
    let extract = false;
    let mode: 'm' | 'p' | 'i' | 'q' | 's' | 'v' | 'S' = 'm';
    let site: string | undefined;
    let configDir: string | undefined;
    let notify: string[] | undefined;
    let ret: 'FULL' | 'HDRS' | undefined;
    let envid: string | undefined;
    const recipients: string[] = [];
    const value = (i: number, a: string, n: number): [string, number] => {
      if (a.length > n) return [a.slice(n), i];
      if (i + 1 >= args.length) throw new ToolFatal(`option requires an argument -- '${a[1]}'`, 64);
      return [args[i + 1]!, i + 1];
    };
    let i = 0;
    for (; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--') {
        i++;
        break;
      }
      if (!a.startsWith('-') || a === '-') break;
      const f = a[1];
      if (f === 'f' || f === 'r') [sender, i] = value(i, a, 2);
      else if (f === 'F') [fullName, i] = value(i, a, 2);
      else if (f === 'C') [configDir, i] = value(i, a, 2);
      else if (f === 'N') {
        let v: string;
        [v, i] = value(i, a, 2);
        notify = v.toUpperCase().split(',').map((s) => s.trim()).filter(Boolean);
      } else if (f === 'R') {
        let v: string;
        [v, i] = value(i, a, 2);
        ret = v.toUpperCase() === 'HDRS' ? 'HDRS' : 'FULL';
      } else if (f === 'V') [envid, i] = value(i, a, 2);
      else if (f === 't') extract = true;
      else if (f === 'i') dotEnds = false;
      else if (a === '-oi') dotEnds = false;
      else if (f === 'o' || f === 'v' || f === 'n' || f === 'U' || f === 'h' || f === 'B' || f === 'X' || f === 'G') {
        if ((f === 'h' || f === 'B' || f === 'X') && a.length === 2) i++;
      } else if (a === '-bm') mode = 'm';
      else if (a === '-bp') mode = 'p';
      else if (a === '-bv') mode = 'v';
      else if (a === '-bs') mode = 'S';
      else if (a === '-bi' || a === '-I') mode = 'i';
      else if (a === '-q') mode = 'q';
      else if (a.startsWith('-qR')) {
        mode = 's';
        [site, i] = value(i, a, 3);
      } else if (a.startsWith('-q')) mode = 'q'; // -q1h etc.: a queue run now
      else if (a.startsWith('-b')) throw new ToolFatal(`unsupported: ${a}`, 64);
      else throw new ToolFatal(`usage: sendmail [options] [recipient...]`, 64);
    }
    recipients.push(...args.slice(i));
    const cdir = configDir !== undefined ? ['-c', configDir] : [];
    if (mode === 'p') return postqueue('sendmail', [...cdir, '-p'], io);
    if (mode === 'q') return postqueue('sendmail', [...cdir, '-f'], io);
    if (mode === 's') return postqueue('sendmail', [...cdir, '-s', site!], io);
    if (mode === 'i') {
      const { run: newaliases } = await import('./newaliases.js');
      return newaliases(configDir !== undefined ? ['-c', configDir] : [], io);
    }
    const { config, queue } = toolContext(io, configDir);
    if (mode === 'S') {
      const { smtpStdio } = await import('../server/tools/smtp-stdio.js');
      return smtpStdio(config, queue, io);
    }
    if (mode === 'v') {
      if (recipients.length === 0) throw new ToolFatal(`${who()}: Recipient addresses must be specified on the command line or via the -t option`, 75);
      const from = sender ?? userInfo().username;
      await submitLocal(config, queue, { sender: from, recipients, content: probeContent(from, recipients), verify: true });
      io.stdout(`Mail Delivery Status Report will be mailed to <${from}>.\n`);
      return 0;
    }
    let text = '';
    for await (const chunk of io.stdin) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1');
    text = text.replace(/\r\n/g, '\n');
    if (dotEnds) {
      const m = /(^|\n)\.(\n|$)/.exec(text);
      if (m) text = text.slice(0, m.index + m[1]!.length);
    }
    let content: Buffer = Buffer.from(text, "latin1");
    if (extract) {
      const x = extractRecipients(content);
      content = x.content;
      recipients.push(...x.recipients);
    }
    if (recipients.length === 0) {
      throw new ToolFatal(`${who()}: ${extract ? 'No recipient addresses found in message header' : 'Recipient addresses must be specified on the command line or via the -t option'}`, 75);
    }
    const sub: Parameters<typeof submitLocal>[2] = { sender: sender ?? userInfo().username, recipients, content };
    // Without -F, Postfix takes the full name from the invoking user's passwd GECOS field.
    fullName ??= gecosName();
    if (fullName) sub.fullName = fullName;
    if (notify) sub.notify = notify;
    if (ret) sub.dsnRet = ret;
    if (envid !== undefined) sub.dsnEnvid = envid;
    await submitLocal(config, queue, sub);
    return 0;
  });
