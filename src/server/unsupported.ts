/**
 * Postfix parameters the reference server reads no further than main.cf: setting one changes
 * nothing here, where Postfix would change how mail is handled (content checks, milters,
 * SASL). `readdress serve` names each one set
 * in main.cf or in a smtpd service's `-o` overrides with a warning at start and on reload, so a
 * configuration brought over from Postfix does not lose those features silently.
 *
 * Parameters: the names in {@link UNSUPPORTED_PARAMETERS}.
 */
import type { Config } from '../config/types.js';

/** A parameter the server does not act on, and what is not done because of it. */
export interface UnsupportedParameter {
  /** The main.cf name. */
  name: string;
  /** A yes/no parameter: only `yes` asks for the missing feature. */
  boolean?: true;
  /** What does not happen, for the warning. */
  effect: string;
}

/** The parameters {@link unsupportedSettings} looks for. */
export const UNSUPPORTED_PARAMETERS: readonly UnsupportedParameter[] = [
  { name: 'header_checks', effect: 'headers are not checked' },
  { name: 'mime_header_checks', effect: 'MIME headers are not checked' },
  { name: 'nested_header_checks', effect: 'attached message headers are not checked' },
  { name: 'body_checks', effect: 'message bodies are not checked' },
  { name: 'smtpd_milters', effect: 'no milter is called' },
  { name: 'non_smtpd_milters', effect: 'no milter is called' },
  { name: 'smtpd_proxy_filter', effect: 'mail is not passed to the proxy filter' },
  { name: 'smtpd_sasl_auth_enable', boolean: true, effect: 'AUTH is not offered' },
  { name: 'smtp_sasl_auth_enable', boolean: true, effect: 'the SMTP client does not authenticate' },
  { name: 'smtp_header_checks', effect: 'the SMTP client does not check headers' },
  { name: 'smtp_mime_header_checks', effect: 'the SMTP client does not check MIME headers' },
  { name: 'smtp_nested_header_checks', effect: 'the SMTP client does not check attached message headers' },
  { name: 'smtp_body_checks', effect: 'the SMTP client does not check bodies' },
];

/**
 * One warning per unsupported parameter that `config` sets explicitly to something that asks
 * for the feature (non-empty, or `yes`); `where` names the place (`main.cf`, a service's `-o`).
 */
export function unsupportedSettings(config: Config, where: string): string[] {
  const out: string[] = [];
  for (const p of UNSUPPORTED_PARAMETERS) {
    if (!config.isSet(p.name)) continue;
    let on: boolean;
    try {
      on = p.boolean ? config.bool(p.name) : config.get(p.name).trim() !== '';
    } catch {
      on = true; // an unreadable value: say so rather than nothing
    }
    if (on) out.push(`${p.name} is set in ${where} but not implemented by readdress serve: ${p.effect}`);
  }
  return out;
}
