/**
 * A small in-memory Config for the queue/delivery tests (3.7.11 defaults of the parameters these
 * modules read), so the tests do not depend on the config loader.
 */
import type { Config } from '../../../src/config/types.js';

const DEFAULTS: Record<string, string> = {
  myhostname: 'mail.example.com',
  mydomain: 'example.com',
  myorigin: '$myhostname',
  queue_directory: '/var/spool/postfix',
  qmgr_message_active_limit: '20000',
  qmgr_message_recipient_limit: '20000',
  default_destination_concurrency_limit: '20',
  local_destination_concurrency_limit: '2',
  default_destination_recipient_limit: '50',
  local_destination_recipient_limit: '1',
  queue_run_delay: '300s',
  minimal_backoff_time: '300s',
  maximal_backoff_time: '4000s',
  maximal_queue_lifetime: '5d',
  bounce_queue_lifetime: '5d',
  delay_warning_time: '0h',
  defer_transports: '',
  notify_classes: 'resource, software',
  bounce_notice_recipient: 'postmaster',
  '2bounce_notice_recipient': 'postmaster',
  delay_notice_recipient: 'postmaster',
  double_bounce_sender: 'double-bounce',
  bounce_size_limit: '50000',
  syslog_name: 'postfix',
  maillog_file: '',
  mail_spool_directory: '/var/mail',
  home_mailbox: '',
  mailbox_command: '',
  recipient_delimiter: '',
  deliver_lock_attempts: '20',
  deliver_lock_delay: '1s',
  stale_lock_time: '500s',
  mailbox_size_limit: '51200000',
  command_time_limit: '1000s',
  prepend_delivered_header: 'command, file, forward',
  enable_original_recipient: 'yes',
  forward_path: '$home/.forward${recipient_delimiter}${extension}, $home/.forward',
  allow_mail_to_commands: 'alias, forward',
  allow_mail_to_files: 'alias, forward',
  alias_maps: '',
  owner_request_special: 'yes',
  expand_owner_alias: 'no',
  duplicate_filter_limit: '1000',
  default_privs: 'nobody',
  relayhost: '',
  smtp_host_lookup: 'dns',
  disable_dns_lookups: 'no',
  smtp_connect_timeout: '30s',
  smtp_helo_name: '$myhostname',
  mail_name: 'Postfix',
  append_at_myorigin: 'yes',
  append_dot_mydomain: 'no',
  swap_bangpath: 'yes',
  allow_percent_hack: 'yes',
  remote_header_rewrite_domain: '',
  mydestination: '$myhostname, localhost.$mydomain, localhost',
};

function expand(v: string, get: (n: string) => string, depth = 0): string {
  if (depth > 20) return v;
  return v.replace(/\$(\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_m, _a, b, c) => expand(get(b ?? c), get, depth + 1));
}

/** Split on commas/whitespace, keeping `{…}` groups whole (as Postfix lists do). */
function splitList(v: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of v) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (depth === 0 && (ch === ',' || /\s/.test(ch))) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export function testConfig(over: Record<string, string> = {}): Config {
  const raw = { ...DEFAULTS, ...over };
  const get = (n: string): string => expand(raw[n] ?? '', get);
  const cfg: Config = {
    configDir: undefined,
    get,
    raw: (n) => raw[n],
    isSet: (n) => n in over,
    list: (n) => splitList(get(n)),
    bool: (n) => /^(yes|true|1)$/i.test(get(n)),
    int: (n) => Number.parseInt(get(n), 10),
    time: (n, unit = 's') => {
      const m = /^(\d+)([smhdw]?)$/.exec(get(n).trim());
      if (!m) return 0;
      return Number(m[1]) * (UNIT[m[2] || unit] ?? 1);
    },
    withOverrides: (o) => testConfig({ ...over, ...o }),
    warnings: [],
  };
  return cfg;
}
