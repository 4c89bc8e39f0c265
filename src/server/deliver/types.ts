/**
 * The contract between the queue manager and delivery agents (Postfix's delivery request and
 * per-recipient status reports). An agent receives one message and a batch of recipients for a
 * single transport + nexthop, and reports one status per recipient.
 */
import type { NewMessage } from '../queue/types.js';

/** A recipient in a delivery request. */
export interface DeliveryRecipient {
  /** Final recipient (after resolve). */
  address: string;
  /** Original recipient (X-Original-To, DSN Original-Recipient). */
  original: string;
  /** DSN `ORCPT` as `type;address` (xtext-decoded), only when the client gave one. */
  orcpt?: string;
  /** DSN `NOTIFY` keywords (`SUCCESS`, `FAILURE`, `DELAY`, `NEVER`); absent when not given (failures and delays are then reported). */
  notify?: string[];
  /** Position in the queue file's recipient list (for done-marking). */
  index: number;
}

/** What the queue manager hands to an agent. */
export interface DeliveryRequest {
  /** Queue ID of the message (logged as `ID: to=<…>`). */
  queueId: string;
  /** Service name from master.cf (`local`, `smtp`, `relay`, `error`…), used as log program name. */
  transport: string;
  /** Nexthop from the route (`domain`, `[host]:port`, error(8) text…), the same for every recipient. */
  nexthop: string;
  /** Envelope sender, internal form; `''` is the null sender. */
  sender: string;
  /** The recipients of this batch (same transport and nexthop). */
  recipients: DeliveryRecipient[];
  /** Header + empty line + body, LF line endings. */
  content: Buffer;
  /** Arrival time of the message, from the queue file. */
  arrival: Date;
  /** How the message came in (client, HELO, protocol, SASL user, DSN RET/ENVID…), from the queue file. */
  attributes: NewMessage['attributes'];
  /**
   * Address verification (`sendmail -bv`): report what would be done (`delivers to mailbox`,
   * the RCPT TO reply…) without delivering anything.
   */
  verify?: boolean;
}

/** Outcome for one recipient. `sent` includes discarded/forwarded (as Postfix logs them). */
export interface RecipientStatus {
  /** The `status=` of the log line: delivered, to be retried, or returned to the sender. */
  status: 'sent' | 'deferred' | 'bounced';
  /** Enhanced status code `x.y.z`. */
  dsn: string;
  /** Text for the log line's parentheses and for the DSN. */
  text: string;
  /** `host[addr]:port`, `local`, `none`… */
  relay: string;
  /** Remote reply text for a DSN `Diagnostic-Code: smtp; …` (SMTP only). */
  diagnostic?: string;
  /** Diagnostic type: `smtp` for remote replies, `x-unix` for local(8), else `X-Postfix`. */
  diagnosticType?: string;
  /** Remote MTA host name for DSN Remote-MTA. */
  remoteMta?: string;
  /**
   * Final deliveries this recipient expanded into (local(8) aliases/.forward): each is logged
   * as `to=<address>, orig_to=<original>` and reported separately in bounces. `status` above
   * is the summary used for the queue file.
   */
  expansions?: (RecipientStatus & {
    /** The final address of this expansion (the log's `to=`). */
    address: string;
  })[];
  /**
   * The destination itself failed (no server could be reached or none would talk): the queue
   * manager defers its other mail for a while without trying ("delivery temporarily suspended").
   */
  destinationDead?: boolean;
  /**
   * The program that made this delivery when it is not the requested transport: local(8)
   * passing a recipient to mailbox_transport(_maps) or fallback_transport(_maps), which
   * Postfix logs under that transport's name and relay.
   */
  loggedBy?: string;
  /** Connection setup seconds (the c field of `delays=`; absent = 0). */
  connSetup?: number;
  /** Transmission seconds (the d field of `delays=`); absent = time since the attempt began, less `connSetup`. */
  transmission?: number;
}

/** A delivery agent (one per master.cf service). */
export interface DeliveryAgent {
  /** Deliver (or, for `verify`, only assess) a request: one status per recipient, in request order. */
  deliver(request: DeliveryRequest): Promise<RecipientStatus[]>;
}

/** Something that can put a new message into the mail stream (for bounces and forwarding). */
export type Submitter = (message: NewMessage) => Promise<string>;
