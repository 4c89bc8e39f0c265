/**
 * Outcomes of the pipeline as data: what Postfix does when a stage fails (defer the message,
 * bounce a recipient), with SMTP reply code, enhanced status code and text kept as fields.
 */
import { MapError } from '../errors.js';

/**
 * The message cannot be accepted now (cleanup "try again later"). smtpd answers
 * `${code} ${status} ${text}`; the sender's client retries.
 */
export interface Deferral {
  /** Always `defer`: tags the outcome (the message is deferred, not rejected). */
  kind: 'defer';
  /** SMTP reply code (451). */
  code: number;
  /** Enhanced status code, e.g. `4.3.0`. */
  status: string;
  /** Reply text after the status code. */
  text: string;
  /** What Postfix logs (the cause). */
  reason: string;
}

/** A table lookup failed: cleanup reports a queue-file write error (CLEANUP_STAT_WRITE). */
export function lookupDeferral(param: string, addr: string, err: unknown): Deferral {
  const why = err instanceof Error ? err.message : String(err);
  return {
    kind: 'defer',
    code: 451,
    status: '4.3.0',
    text: 'Error: queue file write error',
    reason: `${param} map lookup problem for ${addr} -- message not accepted, try again later (${why})`,
  };
}

/** Virtual alias expansion over a limit (CLEANUP_STAT_DEFER, "4.6.0 Alias expansion error"). */
export function aliasExpansionDeferral(reason: string): Deferral {
  return { kind: 'defer', code: 451, status: '4.6.0', text: 'Alias expansion error', reason };
}

/** True for errors that a table raised (as opposed to the replay signal or a bug). */
export function isTableError(e: unknown): e is Error {
  return e instanceof MapError || (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError));
}
