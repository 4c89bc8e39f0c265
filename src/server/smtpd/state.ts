/**
 * What smtpd knows about one SMTP session: the client, the HELO name, the transaction so far,
 * and the actions access tables asked for (HOLD, DISCARD, PREPEND, REDIRECT, BCC, FILTER).
 * The protocol layer (session.ts) fills it; the restriction layer (access.ts) reads it; cleanup
 * receives the transaction part.
 */

/** Peer name lookup outcome (Postfix's SMTPD_PEER_CODE_*). */
export type PeerStatus = 'ok' | 'temp' | 'perm' | 'forged';

export interface ClientInfo {
  /** Verified host name, or `unknown`. */
  name: string;
  /** Reverse (PTR) name without forward confirmation, or `unknown`. */
  reverseName: string;
  /** Outcome of the forward-confirmed name lookup. */
  nameStatus: PeerStatus;
  reverseNameStatus: PeerStatus;
  /** Printable IP address (IPv4 dotted quad, IPv6 compact form). */
  addr: string;
  /** `addr` as it appears in Received: (`IPv6:` prefix for IPv6). */
  rfcAddr: string;
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
  notify?: string[];
}

export interface SessionState {
  client: ClientInfo;
  helo?: string;
  /** `SMTP` after HELO, `ESMTP` after EHLO. */
  protocol: string;
  tls: boolean;
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
  recipients: RcptEntry[];
  /** Message size the client declared with SIZE=. */
  declaredSize: number;
  smtputf8: boolean;
  bodyType?: '7BIT' | '8BITMIME';
  dsnRet?: 'FULL' | 'HDRS';
  dsnEnvid?: string;
  arrivalTime?: Date;
  queueId?: string;
  /** Header rewriting context decided at MAIL time (local_header_rewrite_clients). */
  rewriteContext: 'local' | 'remote';

  // Actions from access tables for this transaction.
  discard: boolean;
  hold: boolean;
  filter?: string;
  redirect?: string;
  bcc: string[];
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
