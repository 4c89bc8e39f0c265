/**
 * What smtpd knows about one SMTP session: the client, the HELO name, the transaction so far,
 * and the actions access tables asked for (HOLD, DISCARD, PREPEND, REDIRECT, BCC, FILTER).
 * The protocol layer (session.ts) fills it; the restriction layer (access.ts) reads it; cleanup
 * receives the transaction part.
 */

/** Peer name lookup outcome (Postfix's SMTPD_PEER_CODE_*). */
export type PeerStatus = 'ok' | 'temp' | 'perm' | 'forged';

/** The SMTP client as smtpd identified it at connect (Postfix's client name, address and port). */
export interface ClientInfo {
  /** Verified host name, or `unknown`. */
  name: string;
  /** Reverse (PTR) name without forward confirmation, or `unknown`. */
  reverseName: string;
  /** Outcome of the forward-confirmed name lookup. */
  nameStatus: PeerStatus;
  /** Outcome of the reverse (PTR) lookup alone. */
  reverseNameStatus: PeerStatus;
  /** Printable IP address (IPv4 dotted quad, IPv6 compact form). */
  addr: string;
  /** `addr` as it appears in Received: (`IPv6:` prefix for IPv6). */
  rfcAddr: string;
  /** The client's TCP port. */
  port: number;
  /** The server address the client connected to. */
  serverAddr: string;
  /** `name[addr]`, as used in logs and replies. */
  namaddr: string;
}

/** One accepted recipient. */
export interface RcptEntry {
  /** Internal form, as given (after source-route stripping). */
  address: string;
  /** DSN ORCPT (`type;addr`), or the address as given when the client sent none. */
  orcpt: string;
  /** The client sent ORCPT= (otherwise `orcpt` is smtpd's `rfc822;<as typed>`). */
  orcptGiven?: boolean;
  /** DSN NOTIFY= keywords (`SUCCESS`, `FAILURE`, `DELAY`, or `NEVER` alone); absent when not sent. */
  notify?: string[];
}

/** The state of one SMTP session: client, HELO name, current transaction and access-table actions. */
export interface SessionState {
  /** The connected client. */
  client: ClientInfo;
  /** HELO/EHLO name (unsafe characters turned into `?`); unset before HELO/EHLO and after STARTTLS. */
  helo?: string;
  /** `SMTP` after HELO, `ESMTP` after EHLO. */
  protocol: string;
  /** STARTTLS completed: the session is encrypted. */
  tls: boolean;
  /** SASL login name of an authenticated client (`permit_sasl_authenticated`); set by the integrations, the reference smtpd has no AUTH. */
  saslUsername?: string;
  /** The command being handled, for logs (`CONNECT`, `RCPT`, `END-OF-MESSAGE`...). */
  where: string;
  /** The client sent ahead where SMTP does not allow it (reject_unauth_pipelining). */
  illPipelining: boolean;

  /** Envelope sender once MAIL succeeded (internal form, `''` = null sender). */
  sender?: string;
  /** Recipient under evaluation (only during RCPT/VRFY checks). */
  recipient?: string;
  /** First accepted recipient (Received: `for <...>` when it is the only one). */
  firstRecipient?: string;
  /** Recipients accepted so far in this transaction. */
  recipients: RcptEntry[];
  /** Message size the client declared with SIZE=. */
  declaredSize: number;
  /** MAIL FROM carried SMTPUTF8 (with `smtputf8_enable`); Received: then says `UTF8SMTP`. */
  smtputf8: boolean;
  /** MAIL FROM's BODY= parameter, when given. */
  bodyType?: '7BIT' | '8BITMIME';
  /** DSN RET= from MAIL FROM. */
  dsnRet?: 'FULL' | 'HDRS';
  /** DSN ENVID= from MAIL FROM, xtext-decoded. */
  dsnEnvid?: string;
  /** When MAIL FROM was accepted (the Received: date). */
  arrivalTime?: Date;
  /** Queue ID reserved at the first accepted RCPT; unset means `NOQUEUE`. */
  queueId?: string;
  /** Header rewriting context decided at MAIL time (local_header_rewrite_clients). */
  rewriteContext: 'local' | 'remote';

  // Actions from access tables for this transaction.
  /** DISCARD: accept the message, then drop it. */
  discard: boolean;
  /** HOLD: the message goes to the hold queue. */
  hold: boolean;
  /** FILTER `transport:destination`, overriding `content_filter`. */
  filter?: string;
  /** REDIRECT target address: replaces the recipients. */
  redirect?: string;
  /** BCC addresses to add as recipients. */
  bcc: string[];
  /** PREPEND header lines, placed before smtpd's Received:. */
  prepend: string[];
}

/** Reset the per-transaction part (Postfix's mail_reset + rcpt_reset). */
export function resetTransaction(s: SessionState): void {
  s.sender = undefined;
  s.recipient = undefined;
  s.firstRecipient = undefined;
  s.recipients = [];
  s.declaredSize = 0;
  s.smtputf8 = false;
  s.bodyType = undefined;
  s.dsnRet = undefined;
  s.dsnEnvid = undefined;
  s.arrivalTime = undefined;
  s.queueId = undefined;
  s.discard = false;
  s.hold = false;
  s.filter = undefined;
  s.redirect = undefined;
  s.bcc = [];
  s.prepend = [];
}

/** State for a client that just connected: before HELO, plain text, no transaction. */
export function newSessionState(client: ClientInfo): SessionState {
  const s: SessionState = {
    client,
    protocol: 'SMTP',
    tls: false,
    where: 'CONNECT',
    illPipelining: false,
    recipients: [],
    declaredSize: 0,
    smtputf8: false,
    rewriteContext: 'remote',
    discard: false,
    hold: false,
    bcc: [],
    prepend: [],
  };
  return s;
}
