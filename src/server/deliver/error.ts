/**
 * error(8), retry and discard(8): agents that deliver nothing. `error` bounces every recipient
 * with the nexthop text (`5.1.6 User has moved to …`), `retry` defers with it, `discard` reports
 * success with the nexthop as the reason. A leading enhanced status code in the text is the
 * DSN status; without one, error uses 5.0.0 and retry 4.0.0.
 */
import type { DeliveryAgent, DeliveryRequest, RecipientStatus } from './types.js';

/** Split `x.y.z text` into status and text. */
export function parseStatusText(text: string, fallback: string): { dsn: string; text: string } {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/.exec(text);
  if (!m) return { dsn: fallback, text };
  return { dsn: `${m[1]}.${m[2]}.${m[3]}`, text: text.slice(m[0].length) };
}

/** The error(8) agent in one of its modes: `error` (bounce), `retry` (defer) or `discard`. */
export class ErrorAgent implements DeliveryAgent {
  constructor(private readonly mode: 'error' | 'retry' | 'discard') {}

  /** Bounce, defer or discard every recipient with the nexthop as reason text. */
  async deliver(req: DeliveryRequest): Promise<RecipientStatus[]> {
    return req.recipients.map(() => {
      if (this.mode === 'discard') return { status: 'sent', dsn: '2.0.0', text: req.nexthop || 'discarded', relay: 'none' };
      const bounce = this.mode === 'error';
      const { dsn, text } = parseStatusText(req.nexthop, bounce ? '5.0.0' : '4.0.0');
      // The class of the status follows the transport (error: 5, retry: 4).
      const fixed = bounce ? (dsn.startsWith('5') ? dsn : '5' + dsn.slice(1)) : (dsn.startsWith('4') ? dsn : '4' + dsn.slice(1));
      return { status: bounce ? 'bounced' : 'deferred', dsn: fixed, text: text || (bounce ? 'Address is undeliverable' : 'Delivery temporarily suspended'), relay: 'none' };
    });
  }
}
