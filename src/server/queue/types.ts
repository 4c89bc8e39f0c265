/**
 * The contract between the receiving side (smtpd, sendmail → cleanup) and the queue.
 * cleanup hands over a fully rewritten message; the queue answers with a queue ID only
 * after the file is on disk and fsynced, so a `250` never precedes durability.
 */

/** One envelope recipient as it will be queued (after canonical/virtual expansion). */
export interface QueuedRecipient {
  /** Final address, internal (unquoted) form. */
  address: string;
  /** The address as the client gave it (Postfix's original recipient, used for X-Original-To / DSN). */
  original: string;
  /** DSN ORCPT parameter, if the client gave one. */
  orcpt?: string;
  /** DSN NOTIFY flags (`SUCCESS`, `FAILURE`, `DELAY`, `NEVER`), if given. */
  notify?: string[];
}

/** What cleanup hands to the queue. */
export interface NewMessage {
  /** Envelope sender, internal form; `''` is the null sender. */
  sender: string;
  /** Envelope recipients, in the order they will be queued. */
  recipients: QueuedRecipient[];
  /** Header block + empty line + body, with LF line endings (dot-unstuffed). */
  content: Buffer;
  /** Arrival time. */
  arrivedAt: Date;
  /** Facts about how it came in (logged, used for Received: and for local header context). */
  attributes: {
    /** SMTP client host name (Postfix's `client_name`), `unknown` when not verified; absent for sendmail. */
    clientName?: string;
    /** SMTP client IP address (Postfix's `client_address`); absent for sendmail. */
    clientAddress?: string;
    /** HELO/EHLO argument the client sent (Postfix's `helo_name`). */
    helo?: string;
    /** Receiving protocol (Postfix's `protocol_name`): `SMTP`, `ESMTP`, `UTF8SMTP`, or `local` for sendmail. */
    protocol?: string;
    /** SASL login name of an authenticated client (Postfix's `sasl_username`). */
    saslUsername?: string;
    /** RET= from MAIL FROM (FULL | HDRS). */
    dsnRet?: 'FULL' | 'HDRS';
    /** ENVID= from MAIL FROM. */
    dsnEnvid?: string;
    /** MAIL FROM carried SMTPUTF8; the smtp client passes it on when the next hop offers it. */
    smtputf8?: boolean;
    /** BODY= from MAIL FROM (Postfix's `encoding` attribute). */
    bodyType?: '7BIT' | '8BITMIME';
    /**
     * Address verification probe (`sendmail -bv`, Postfix's DEL_REQ_FLAG_USR_VRFY): agents
     * only report what they would do, and the sender gets a "Mail Delivery Status Report".
     */
    verify?: boolean;
    /** Header rewriting context cleanup used (`local` is recorded; requeue uses it again). */
    rewriteContext?: 'local' | 'remote';
  };
  /** Put straight into the hold queue (e.g. a HOLD action from an access table). */
  hold?: boolean;
  /**
   * Optional (added by smtpd/cleanup): content filter `transport:nexthop` for every recipient of
   * this message — an access table FILTER action, else main.cf `content_filter` (Postfix's FILT
   * record). When set, qmgr should route all recipients to it instead of resolving them.
   */
  filter?: string;
}

/** The part of the queue that receiving code needs. */
export interface QueueWriter {
  /** Write and fsync the message; resolves with its queue ID. Rejects (ServerError) if it could not be made durable. */
  enqueue(message: NewMessage): Promise<string>;
  /**
   * Optional (asked for by smtpd/cleanup): allocate the queue ID *before* the content exists, as
   * Postfix's cleanup does when smtpd opens the queue file at the first accepted RCPT. smtpd needs
   * the ID early for `ID: client=...` logging, `Received: ... id ID` and cleanup's added
   * `Message-Id: <stamp.ID@host>`. The returned handle's `commit` writes+fsyncs and resolves with
   * the same `id`; `abort` discards the reservation (transaction reset, rejected content).
   * When absent, smtpd calls `enqueue` and omits the ID from headers it generates.
   */
  reserve?(): Promise<QueueReservation>;
}

/** A queue ID held for one message being received (see {@link QueueWriter.reserve}). */
export interface QueueReservation {
  /** The reserved queue ID, as in the maillog. */
  readonly id: string;
  /** Write and fsync `message` under the reserved ID; resolves with {@link QueueReservation.id}. */
  commit(message: NewMessage): Promise<string>;
  /** Give up the reservation without queueing anything. */
  abort(): Promise<void>;
}
