/**
 * Trace records of the rewrite pipeline. A trace is only built when the caller asks for it
 * (`{ trace: true }`); every stage takes an optional array and does nothing with it when it
 * is undefined, so tracing costs one branch when off.
 */

/** Pipeline stages, in the order Postfix runs them. */
export type Stage =
  | 'input'
  | 'rewrite'
  | 'null-sender'
  | 'sender_canonical_maps'
  | 'recipient_canonical_maps'
  | 'canonical_maps'
  | 'masquerade'
  | 'virtual_alias_maps'
  | 'duplicate'
  | 'resolve'
  | 'transport_maps'
  | 'relocated_maps'
  | 'sender_bcc_maps'
  | 'recipient_bcc_maps'
  | 'smtp_generic_maps'
  | 'alias_maps'
  | 'forward'
  | 'include'
  | 'result';

/** One step: a table probe (table + key + result) or a stage outcome (input → output). */
export interface TraceStep {
  /** The pipeline stage that made the step (e.g. `canonical_maps`, `resolve`). */
  stage: Stage;
  /** The table probed, as `type:name`. */
  table?: string;
  /** The exact key given to the table. */
  key?: string;
  /** The value found; `null` = not found. Absent for non-lookup steps. */
  result?: string | null;
  /** Address before the step (stage outcomes). */
  input?: string;
  /** Address(es) after the step (stage outcomes). */
  output?: string | string[];
  /** Free text: why a step was skipped or what a limit did. */
  note?: string;
}

/** A trace: the steps in the order they happened. */
export type Trace = TraceStep[];
