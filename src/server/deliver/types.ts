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
  orcpt?: string;
  notify?: string[];
  /** Position in the queue file's recipient list (for done-marking). */
  index: number;
}

/** What the queue manager hands to an agent. */
export interface DeliveryRequest {
  queueId: string;
  /** Service name from master.cf (`local`, `smtp`, `relay`, `error`…), used as log program name. */
  transport: string;
  nexthop: string;
  sender: string;
  recipients: DeliveryRecipient[];
  /** Header + empty line + body, LF line endings. */
  content: Buffer;
  arrival: Date;
  attributes: NewMessage['attributes'];
  /**
   * Address verification (`sendmail -bv`): report what would be done (`delivers to mailbox`,
   * the RCPT TO reply…) without delivering anything.
   */
  verify?: boolean;
}

/** Outcome for one recipient. `sent` includes discarded/forwarded (as Postfix logs them). */
export interface RecipientStatus {
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
  expansions?: (RecipientStatus & { address: string })[];
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
  /** Connection setup and transmission seconds (the c/d fields of `delays=`). */
  connSetup?: number;
  transmission?: number;
}

/** A delivery agent (one per master.cf service). */
export interface DeliveryAgent {
  deliver(request: DeliveryRequest): Promise<RecipientStatus[]>;
}

/** Something that can put a new message into the mail stream (for bounces and forwarding). */
export type Submitter = (message: NewMessage) => Promise<string>;
