/**
 * smtpd protocol settings read from the configuration: `myhostname`, `smtpd_banner`, `mail_name`,
 * `message_size_limit`, `line_length_limit`, `smtputf8_enable`, `disable_vrfy_command`,
 * `smtpd_helo_required`, `smtpd_delay_reject`, `smtpd_soft_error_limit`,
 * `smtpd_hard_error_limit`, `smtpd_error_sleep_time`, `smtpd_junk_command_limit`,
 * `smtpd_recipient_limit`, `smtpd_recipient_overshoot_limit`, `smtpd_timeout`,
 * `smtpd_discard_ehlo_keywords`, `smtpd_tls_security_level` / `smtpd_enforce_tls` /
 * `smtpd_use_tls`, `smtpd_forbidden_commands`, `soft_bounce`, `smtpd_forbid_unauth_pipelining`,
 * `smtpd_client_connection_count_limit`.
 */
import type { Config } from '../../config/types.js';
import type { SmtpdSettings } from './session.js';

/**
 * Read the {@link SmtpdSettings} from a configuration. `tlsAvailable`: a certificate could be loaded
 * (STARTTLS is then offered per `smtpd_tls_security_level`); `serviceName`: the master.cf service,
 * as named in connection-limit logs.
 */
export function smtpdSettings(config: Config, tlsAvailable: boolean, serviceName = 'smtp'): SmtpdSettings {
  const level = config.get('smtpd_tls_security_level');
  const enforce = level === 'encrypt' || (!level && config.bool('smtpd_enforce_tls'));
  const offer = level === 'may' || level === 'encrypt' || (!level && (config.bool('smtpd_use_tls') || config.bool('smtpd_enforce_tls')));
  return {
    myhostname: config.get('myhostname'),
    mailName: config.get('mail_name') || 'Postfix',
    banner: config.get('smtpd_banner'),
    messageSizeLimit: config.int('message_size_limit'),
    lineLengthLimit: Math.max(1, config.int('line_length_limit')),
    smtputf8Enable: config.bool('smtputf8_enable'),
    disableVrfy: config.bool('disable_vrfy_command'),
    heloRequired: config.bool('smtpd_helo_required'),
    delayReject: config.bool('smtpd_delay_reject'),
    softErrorLimit: config.int('smtpd_soft_error_limit'),
    hardErrorLimit: config.int('smtpd_hard_error_limit'),
    errorSleepMs: config.time('smtpd_error_sleep_time') * 1000,
    junkCommandLimit: config.int('smtpd_junk_command_limit'),
    recipientLimit: config.int('smtpd_recipient_limit'),
    recipientOvershootLimit: config.int('smtpd_recipient_overshoot_limit'),
    timeoutMs: config.time('smtpd_timeout') * 1000,
    discardEhlo: new Set(config.list('smtpd_discard_ehlo_keywords').map((k) => k.toUpperCase())),
    // As Postfix: offered when smtpd_tls_security_level is may/encrypt (or the older
    // smtpd_use_tls / smtpd_enforce_tls) and a certificate could be loaded.
    tlsAvailable: tlsAvailable && (offer || enforce),
    enforceTls: enforce,
    forbiddenCommands: new Set(config.list('smtpd_forbidden_commands').filter((w) => !w.includes(':') && !w.includes('{')).map((w) => w.toUpperCase())),
    softBounce: config.bool('soft_bounce'),
    forbidUnauthPipelining: config.bool('smtpd_forbid_unauth_pipelining'),
    connectionCountLimit: config.int('smtpd_client_connection_count_limit'),
    serviceName,
  };
}
