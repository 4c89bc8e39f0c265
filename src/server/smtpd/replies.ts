/**
 * smtpd reply texts as data: every fixed reply the protocol layer sends, with its SMTP code and
 * enhanced status code, worded as Postfix 3.7 smtpd words them. Restriction replies (access maps,
 * relay control, recipient validation) are formatted in access.ts from the codes in
 * {@link REPLY_CODE_PARAMS}, because their codes are parameters.
 */

/** A reply: three-digit code, optional enhanced status code, text. */
export interface Reply {
  /** SMTP reply code (`250`, `501`, …). */
  code: number;
  /** Enhanced status code (`5.5.4`), when Postfix sends one with this reply. */
  dsn?: string;
  /** Reply text; `%s` marks the one argument some replies take. */
  text: string;
}

/** A cleanup failure's reply: it always has an enhanced status code. */
export interface CleanupReply extends Reply {
  /** Enhanced status code (`4.3.0`, `5.3.4`, …). */
  dsn: string;
}

// The tables below are typed as records of Reply for the API, and kept as literals here so that
// their keys make the name types.
const FIXED_REPLIES = {
  bye: { code: 221, dsn: '2.0.0', text: 'Bye' },
  ok: { code: 250, dsn: '2.0.0', text: 'Ok' },
  mailOk: { code: 250, dsn: '2.1.0', text: 'Ok' },
  rcptOk: { code: 250, dsn: '2.1.5', text: 'Ok' },
  queued: { code: 250, dsn: '2.0.0', text: 'Ok: queued as %s' },
  bdatOk: { code: 250, dsn: '2.0.0', text: 'Ok: %s bytes' },
  vrfy: { code: 252, dsn: '2.0.0', text: '%s' },
  startData: { code: 354, text: 'End data with <CR><LF>.<CR><LF>' },
  readyTls: { code: 220, dsn: '2.0.0', text: 'Ready to start TLS' },

  heloSyntax: { code: 501, text: 'Syntax: HELO hostname' },
  ehloSyntax: { code: 501, text: 'Syntax: EHLO hostname' },
  needHelo: { code: 503, dsn: '5.5.1', text: 'Error: send HELO/EHLO first' },
  nestedMail: { code: 503, dsn: '5.5.1', text: 'Error: nested MAIL command' },
  mailAfterBdat: { code: 503, dsn: '5.5.1', text: 'Error: MAIL after BDAT' },
  mailSyntax: { code: 501, dsn: '5.5.4', text: 'Syntax: MAIL FROM:<address>' },
  badSender: { code: 501, dsn: '5.1.7', text: 'Bad sender address syntax' },
  badSizeSyntax: { code: 501, dsn: '5.5.4', text: 'Bad message size syntax' },
  sizeFsLimit: { code: 552, dsn: '5.3.4', text: 'Message size exceeds file system imposed limit' },
  sizeLimit: { code: 552, dsn: '5.3.4', text: 'Message size exceeds fixed limit' },
  badRet: { code: 501, dsn: '5.5.4', text: 'Bad RET parameter syntax' },
  badEnvid: { code: 501, dsn: '5.5.4', text: 'Bad ENVID parameter syntax' },
  unsupportedOption: { code: 555, dsn: '5.5.4', text: 'Unsupported option: %s' },
  needMail: { code: 503, dsn: '5.5.1', text: 'Error: need MAIL command' },
  rcptAfterBdat: { code: 503, dsn: '5.5.1', text: 'Error: RCPT after BDAT' },
  rcptSyntax: { code: 501, dsn: '5.5.4', text: 'Syntax: RCPT TO:<address>' },
  badRecipient: { code: 501, dsn: '5.1.3', text: 'Bad recipient address syntax' },
  badNotify: { code: 501, dsn: '5.5.4', text: 'Error: Bad NOTIFY parameter syntax' },
  badOrcpt: { code: 501, dsn: '5.5.4', text: 'Error: Bad ORCPT parameter syntax' },
  tooManyRcpts: { code: 452, dsn: '4.5.3', text: 'Error: too many recipients' },
  needUtf8: { code: 553, dsn: '5.6.7', text: 'Must declare SMTPUTF8 to send unicode address' },
  dataAfterBdat: { code: 503, dsn: '5.5.1', text: 'Error: DATA after BDAT' },
  needRcpt: { code: 503, dsn: '5.5.1', text: 'Error: need RCPT command' },
  noValidRcpts: { code: 554, dsn: '5.5.1', text: 'Error: no valid recipients' },
  dataSyntax: { code: 501, dsn: '5.5.4', text: 'Syntax: DATA' },
  bdatSyntax: { code: 521, dsn: '5.5.4', text: 'Syntax: BDAT count [LAST]' },
  rsetSyntax: { code: 501, dsn: '5.5.4', text: 'Syntax: RSET' },
  vrfyDisabled: { code: 502, dsn: '5.5.1', text: 'VRFY command is disabled' },
  vrfySyntax: { code: 501, dsn: '5.5.4', text: 'Syntax: VRFY address' },
  etrnNeedHelo: { code: 503, text: 'Error: send HELO/EHLO first' },
  etrnInTxn: { code: 503, text: 'Error: MAIL transaction in progress' },
  etrnSyntax: { code: 500, text: 'Syntax: ETRN domain' },
  etrnBadParam: { code: 501, text: 'Error: invalid parameter syntax' },
  etrnUnable: { code: 458, text: 'Unable to queue messages' },
  starttlsSyntax: { code: 501, dsn: '5.5.4', text: 'Syntax: STARTTLS' },
  tlsActive: { code: 554, dsn: '5.5.1', text: 'Error: TLS already active' },
  tlsUnavailable: { code: 454, dsn: '4.7.0', text: 'TLS not available due to local problem' },
  mustStarttls: { code: 530, dsn: '5.7.0', text: 'Must issue a STARTTLS command first' },
  notImplemented: { code: 502, dsn: '5.5.1', text: 'Error: command not implemented' },
  notRecognized: { code: 500, dsn: '5.5.2', text: 'Error: command not recognized' },
  badSyntax: { code: 500, dsn: '5.5.2', text: 'Error: bad syntax' },
  badUtf8: { code: 500, dsn: '5.5.2', text: 'Error: bad UTF-8 syntax' },
  breakRules: { code: 221, dsn: '2.7.0', text: 'Error: I can break rules, too. Goodbye.' },
  accessDenied: { code: 503, dsn: '5.7.0', text: 'Error: access denied for %s' },
  // `%s` is $myhostname in the 421s, as Postfix puts it there.
  tooManyErrors: { code: 421, dsn: '4.7.0', text: '%s Error: too many errors' },
  timeout: { code: 421, dsn: '4.4.2', text: '%s Error: timeout exceeded' },
  shutdown: { code: 421, dsn: '4.3.2', text: '%s Service shutting down, closing transmission channel' },
  localError: { code: 421, dsn: '4.3.0', text: '%s Server local error' },
  serverConfig: { code: 451, dsn: '4.3.5', text: 'Server configuration error' },
  insufficientSpace: { code: 452, dsn: '4.3.1', text: 'Insufficient system storage' },
} as const satisfies Record<string, Reply>;

/** The names of the fixed protocol replies ({@link REPLIES}). */
export type ReplyName = keyof typeof FIXED_REPLIES;

/** Fixed protocol replies, keyed by what they mean. `%s` marks the one argument some take. */
export const REPLIES: Readonly<Record<ReplyName, Reply>> = FIXED_REPLIES;

/**
 * Cleanup status → end-of-DATA reply (Postfix's cleanup_stat_map; the text follows `Error: `).
 */
const CLEANUP_TABLE = {
  defer: { code: 451, dsn: '4.7.1', text: 'service unavailable' },
  proxy: { code: 451, dsn: '4.3.0', text: 'queue file write error' },
  bad: { code: 451, dsn: '4.3.0', text: 'internal protocol error' },
  noRecipients: { code: 550, dsn: '5.1.0', text: 'no recipients specified' },
  hops: { code: 554, dsn: '5.4.0', text: 'too many hops' },
  size: { code: 552, dsn: '5.3.4', text: 'message file too big' },
  content: { code: 550, dsn: '5.7.1', text: 'message content rejected' },
  write: { code: 451, dsn: '4.3.0', text: 'queue file write error' },
  noPermission: { code: 550, dsn: '5.7.1', text: 'service denied' },
  bareLf: { code: 521, dsn: '5.5.2', text: 'bare <LF> received' },
} as const satisfies Record<string, CleanupReply>;

/** The cleanup failures smtpd reports after DATA ({@link CLEANUP_REPLIES}). */
export type CleanupStatus = keyof typeof CLEANUP_TABLE;

/** Cleanup status → end-of-DATA reply (see {@link formatCleanupReply}). */
export const CLEANUP_REPLIES: Readonly<Record<CleanupStatus, CleanupReply>> = CLEANUP_TABLE;

/**
 * Reply-code parameters of the restrictions, with their 3.7 defaults (`postconf -d`). The
 * access layer reads the configured value of each.
 */
const REPLY_CODE_DEFAULTS = {
  access_map_reject_code: 554,
  access_map_defer_code: 450,
  reject_code: 554,
  defer_code: 450,
  relay_domains_reject_code: 554,
  maps_rbl_reject_code: 554,
  non_fqdn_reject_code: 504,
  invalid_hostname_reject_code: 501,
  unknown_client_reject_code: 450,
  unknown_hostname_reject_code: 450,
  unknown_address_reject_code: 450,
  unknown_local_recipient_reject_code: 550,
  unknown_virtual_alias_reject_code: 550,
  unknown_virtual_mailbox_reject_code: 550,
  unknown_relay_recipient_reject_code: 550,
  multi_recipient_bounce_reject_code: 550,
  plaintext_reject_code: 450,
} as const;

/** The main.cf parameters that set a restriction's reply code. */
export type ReplyCodeParam = keyof typeof REPLY_CODE_DEFAULTS;

/** Each reply-code parameter's Postfix 3.7 default. */
export const REPLY_CODE_PARAMS: Readonly<Record<ReplyCodeParam, number>> = REPLY_CODE_DEFAULTS;

/** Render a reply line (without CRLF), filling `%s` with `arg`. */
export function formatReply(r: Reply, arg?: string): string {
  const text = arg === undefined ? r.text : r.text.replace('%s', arg);
  return r.dsn ? `${r.code} ${r.dsn} ${text}` : `${r.code} ${text}`;
}

/** A cleanup failure as smtpd sends it after DATA: `552 5.3.4 Error: message file too big`. */
export function formatCleanupReply(status: CleanupStatus): string {
  const r = CLEANUP_REPLIES[status];
  return `${r.code} ${r.dsn} Error: ${r.text}`;
}
