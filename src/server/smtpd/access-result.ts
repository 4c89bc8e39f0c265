/**
 * access(5) values and enhanced status codes, as pure functions: classify a table value
 * (OK, REJECT, DEFER, 4NN/5NN text, DUNNO, HOLD, DISCARD, PREPEND, REDIRECT, BCC, FILTER, WARN,
 * INFO, HANGUP, DEFER_IF_PERMIT, DEFER_IF_REJECT, all-digits, or a restriction list), split a
 * leading `X.Y.Z` off reply text (dsn_split), and map `X.1.Y` codes between sender and
 * recipient meaning (smtpd_dsn_fix). Parameters: `access_map_reject_code`,
 * `access_map_defer_code` (applied by the caller).
 */

/** One parsed access table value. */
export type AccessAction =
  | { kind: 'dunno' }
  | { kind: 'permit'; word: string }
  | { kind: 'reject'; text: string }
  | { kind: 'defer'; text: string }
  | { kind: 'code'; code: number; text: string }
  | { kind: 'defer_if_permit'; text: string }
  | { kind: 'defer_if_reject'; text: string }
  | { kind: 'hold'; text: string }
  | { kind: 'discard'; text: string }
  | { kind: 'hangup'; text: string }
  | { kind: 'info'; text: string }
  | { kind: 'warn'; text: string }
  | { kind: 'filter'; text: string }
  | { kind: 'redirect'; text: string }
  | { kind: 'bcc'; text: string }
  | { kind: 'prepend'; text: string }
  | { kind: 'restrictions'; value: string };

const WORDS: Record<string, AccessAction['kind']> = {
  DUNNO: 'dunno',
  REJECT: 'reject',
  DEFER: 'defer',
  HANGUP: 'hangup',
  INFO: 'info',
  WARN: 'warn',
  FILTER: 'filter',
  HOLD: 'hold',
  DISCARD: 'discard',
  REDIRECT: 'redirect',
  BCC: 'bcc',
  DEFER_IF_PERMIT: 'defer_if_permit',
  DEFER_IF_REJECT: 'defer_if_reject',
  PREPEND: 'prepend',
};

/** Classify an access table value (Postfix check_table_result order). */
export function parseAccessValue(value: string): AccessAction {
  const m = /^([^ \t]*)[ \t]*(.*)$/s.exec(value)!;
  const word = m[1]!;
  const text = m[2]!;
  const up = word.toUpperCase();
  const kind = WORDS[up];
  if (kind === 'dunno') return { kind };
  if (kind) return { kind, text } as AccessAction;
  if (/^[0-9]+$/.test(value)) return { kind: 'permit', word };
  if (word.length === 3 && text.length > 0 && /^[45][0-9][0-9]$/.test(word)) return { kind: 'code', code: Number(word), text };
  if (up === 'OK' || up === 'RELAY') return { kind: 'permit', word };
  return { kind: 'restrictions', value };
}

/** A leading enhanced status code split off reply text (Postfix dsn_split). */
export interface DsnSplit {
  dsn: string;
  text: string;
}

/** `X.YYY.ZZZ` at the start of text, followed by space or end. */
const DSN_RE = /^([245])\.(\d{1,3})\.(\d{1,3})(?:[ \t]+|$)/;

/** Split `5.1.1 text` into code + text; `def` supplies the code when the text has none. */
export function dsnSplit(def: string, text: string): DsnSplit {
  const m = DSN_RE.exec(text);
  if (m) return { dsn: `${m[1]}.${m[2]}.${m[3]}`, text: text.slice(m[0].length) };
  return { dsn: def, text: text.replace(/^[ \t]+/, '') };
}

// smtpd_dsn_fix(): for X.1.Y codes, map to the sender or recipient meaning.
const DSN_MAP: Record<string, [sender: string, rcpt: string]> = {
  '1': ['4.1.7', '4.1.1'],
  '2': ['4.1.8', '4.1.2'],
  '3': ['4.1.7', '4.1.3'],
  '4': ['4.1.7', '4.1.4'],
  '5': ['4.1.0', '4.1.5'],
  '6': ['4.1.7', '4.1.6'],
  '7': ['4.1.7', '4.1.3'],
  '8': ['4.1.8', '4.1.2'],
};

export const CLASS = {
  client: 'Client host',
  reverseClient: 'Unverified Client host',
  helo: 'Helo command',
  sender: 'Sender address',
  recipient: 'Recipient address',
  etrn: 'Etrn command',
  data: 'Data command',
  eod: 'End-of-data',
} as const;

export type ReplyClass = (typeof CLASS)[keyof typeof CLASS];

/**
 * Postfix smtpd_dsn_fix: an address-status code (`X.1.Y`) given for the wrong kind of address is
 * mapped to the matching one (a recipient code for a sender → `X.1.7`/`X.1.8`, and the reverse);
 * any other class gets `X.0.0`. The first digit (class) is kept by the caller.
 */
export function dsnFix(status: string, replyClass: string): string {
  if (!/^\d\.1\./.test(status)) return status;
  const micro = status.slice(4);
  let result: string;
  if (replyClass === CLASS.sender) result = (DSN_MAP[micro] ?? ['4.1.0', '4.1.0'])[0];
  else if (replyClass === CLASS.recipient) result = (DSN_MAP[micro] ?? ['4.1.0', '4.1.0'])[1];
  else result = '4.0.0';
  return status[0] + result.slice(1);
}

/** Whether text is a valid `X.Y.Z` status (Postfix dsn_valid). */
export function dsnValid(s: string): boolean {
  return /^[245]\.\d{1,3}\.\d{1,3}$/.test(s);
}
