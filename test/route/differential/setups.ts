/**
 * Setups and cases of the differential suite: each setup is a main.cf fragment plus table
 * sources (texthash/inline only, so no postmap step is needed), and a list of messages to
 * send. record.ts plays them against real Postfix 3.7 and stores what happened in
 * test/fixtures/pipeline/differential.json; differential.test.ts replays them against our API.
 *
 * `{conf}` in main.cf text stands for the directory holding the table sources.
 */

export interface DiffCase {
  id: string;
  /** SMTP client address (127.0.0.1 = local header context; 127.0.0.2 = remote). */
  client: string;
  /** MAIL FROM (external form, without <>). */
  sender: string;
  /** RCPT TO addresses (external form, without <>). */
  rcpts: string[];
  /** Header lines (without Message-ID/X-Case, which the recorder adds). */
  headers: string[];
}

export interface DiffSetup {
  name: string;
  main: string;
  files: Record<string, string>;
  cases: DiffCase[];
}

const common = `myhostname = mail.test.com
mydomain = test.com
mynetworks = 127.0.0.0/8
local_recipient_maps =
`;

/** The seed's setup: test.com local, test.net a virtual alias domain. */
const seedMain = `${common}myorigin = $mydomain
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain
virtual_alias_maps = texthash:{conf}/virtual
masquerade_domains = $mydomain
masquerade_exceptions = root
relocated_maps = texthash:{conf}/relocated
sender_canonical_maps = texthash:{conf}/sender_canonical
recipient_canonical_maps = texthash:{conf}/recipient_canonical
canonical_maps = texthash:{conf}/canonical
recipient_delimiter = +
transport_maps = texthash:{conf}/transport
relay_domains = relay.example
`;

const seedFiles: Record<string, string> = {
  virtual: `test.net anything
tom@test.net tom
list@test.net a@remote.example, b@remote.example, a@remote.example
self@test.net self@test.net, copy@remote.example
@catch.example catch@remote.example
known@catch.example known-user@remote.example
a@loop.example b@loop.example
b@loop.example a@loop.example
user@ext.example joe@remote.example
chain1@test.net chain2@test.net
chain2@test.net chain3@remote.example
local@test.net localuser
quoted@test.net "john smith"@remote.example
@rename.example @renamed.example
bare@test.net bare
`,
  relocated: `old@test.com new@elsewhere.example
@moved.example see our website
gone new-address@remote.example
`,
  sender_canonical: `joe joe.sender
@oldco.example @newco.example
`,
  recipient_canonical: `joe joe.rcpt
ann@test.com ann.smith@test.com
`,
  canonical: `joe joe.canon
joe.sender@test.com js@test.com
bob@test.com robert@test.com
@legacy.example @modern.example
kim@host.test.com kim.lee@host.test.com
`,
  transport: `special.example smtp:[10.0.0.1]:2525
.sub.example relay:
err@test.org error:5.7.1 no thanks
retry.example retry:4.3.2 come back later
hop.example :[10.9.9.9]
`,
};

/** Variations on classes, masquerading, remote header context and extensions. */
const classesMain = `${common}myorigin = $myhostname
mydestination = $myhostname, localhost, $mydomain
canonical_maps = texthash:{conf}/canonical
sender_canonical_maps = texthash:{conf}/sender_canonical
canonical_classes = envelope_recipient, header_sender
sender_canonical_classes = header_sender
masquerade_domains = !keep.test.com, test.com
masquerade_classes = envelope_sender, envelope_recipient, header_recipient
remote_header_rewrite_domain = remote.invalid
propagate_unmatched_extensions = canonical
recipient_delimiter = +-
virtual_alias_maps = texthash:{conf}/virtual
`;

const classesFiles: Record<string, string> = {
  canonical: `pat pat.canon
@old.example @new.example
sue@test.com susan@host.test.com
`,
  sender_canonical: `pat pat.sender
`,
  virtual: `vx@virt.example vy@remote.example
owner-list@virt.example lo@remote.example
`,
};

/** Built-in compatibility level 0 behaviour: append_dot_mydomain, default myorigin. */
const compatMain = `${common}compatibility_level = 0
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
mydestination = $myhostname, localhost.$mydomain, localhost
virtual_alias_maps = inline:{ {bang@mail.test.com = x@remote.example} }
`;

function c(id: string, sender: string, rcpts: string[], headers: string[] = [], client = '127.0.0.1'): DiffCase {
  return { id, client, sender, rcpts, headers };
}

const seedCases: DiffCase[] = [
  // Virtual alias domain and recursion (seed).
  c('seed-tom', 'someone@remote.example', ['tom@test.net']),
  c('seed-unknown-virtual', 'someone@remote.example', ['joe@test.net']),
  c('seed-list-dups', 'someone@remote.example', ['list@test.net']),
  c('seed-self', 'someone@remote.example', ['self@test.net']),
  c('seed-catchall', 'someone@remote.example', ['whoever@catch.example']),
  c('seed-catchall-precedence', 'someone@remote.example', ['known@catch.example']),
  c('seed-loop', 'someone@remote.example', ['a@loop.example']),
  c('seed-ext-propagate', 'someone@remote.example', ['user+foo@ext.example']),
  c('seed-chain', 'someone@remote.example', ['chain1@test.net']),
  c('seed-virtual-to-local', 'someone@remote.example', ['local@test.net']),
  c('seed-virtual-quoted', 'someone@remote.example', ['quoted@test.net']),
  c('seed-rename-domain', 'someone@remote.example', ['pat@rename.example']),
  c('seed-rename-domain-ext', 'someone@remote.example', ['pat+x@rename.example']),
  c('seed-bare', 'someone@remote.example', ['bare@test.net']),
  c('seed-virtual-case', 'someone@remote.example', ['TOM@Test.NET']),
  // Relocated.
  c('seed-relocated', 'someone@remote.example', ['old@test.com']),
  c('seed-relocated-ext', 'someone@remote.example', ['old+x@test.com']),
  c('seed-relocated-domain', 'someone@remote.example', ['x@moved.example']),
  c('seed-relocated-localpart', 'someone@remote.example', ['gone@test.com']),
  // Canonical precedence and classes.
  c('seed-sender-canonical', 'joe@test.com', ['someone@remote.example']),
  c('seed-sender-canonical-bare', 'joe', ['someone@remote.example']),
  c('seed-recipient-canonical', 'someone@remote.example', ['joe@test.com']),
  c('seed-recipient-canonical-ext', 'someone@remote.example', ['joe+box@test.com']),
  c('seed-canonical-both', 'bob@test.com', ['bob@test.com']),
  c('seed-canonical-domain', 'x@legacy.example', ['y@legacy.example']),
  c('seed-sender-domain', 'x@oldco.example', ['someone@remote.example']),
  c('seed-recipient-canonical-exact', 'someone@remote.example', ['ann@test.com']),
  c('seed-canonical-subdomain', 'kim@host.test.com', ['kim@host.test.com']),
  // Masquerading (envelope sender only by default; exceptions).
  c('seed-masq-sender', 'user@host.test.com', ['someone@remote.example']),
  c('seed-masq-root', 'root@host.test.com', ['someone@remote.example']),
  c('seed-masq-rcpt-not', 'someone@remote.example', ['user@host.test.com']),
  c('seed-masq-deep', 'u@a.b.test.com', ['someone@remote.example']),
  c('seed-masq-other', 'u@nottest.com', ['someone@remote.example']),
  // Local, relay, default classes and transport_maps.
  c('seed-local', 'someone@remote.example', ['alice@test.com']),
  c('seed-local-host', 'someone@remote.example', ['alice@mail.test.com']),
  c('seed-local-localhost', 'someone@remote.example', ['alice@localhost']),
  c('seed-relay', 'someone@remote.example', ['r@relay.example']),
  c('seed-default', 'someone@remote.example', ['d@far.example']),
  c('seed-transport-domain', 'someone@remote.example', ['s@special.example']),
  c('seed-transport-subdomain', 'someone@remote.example', ['s@a.sub.example']),
  c('seed-transport-parent-only', 'someone@remote.example', ['s@sub.example']),
  c('seed-transport-error', 'someone@remote.example', ['err@test.org']),
  c('seed-transport-error-ext', 'someone@remote.example', ['err+x@test.org']),
  c('seed-transport-retry', 'someone@remote.example', ['r@retry.example']),
  c('seed-transport-nexthop-only', 'someone@remote.example', ['h@hop.example']),
  // Null sender, MAILER-DAEMON, quoting, routing syntax.
  c('seed-null-sender', '', ['someone@remote.example']),
  c('seed-mailer-daemon', 'MAILER-DAEMON@test.com', ['someone@remote.example']),
  c('seed-quoted-local', '"john smith"@test.com', ['"jane doe"@remote.example']),
  c('seed-quoted-at', '"a@b"@remote.example', ['"c@d"@far.example']),
  c('seed-source-route', 'someone@remote.example', ['@hop1.example,@hop2.example:user@far.example']),
  c('seed-percent', 'someone@remote.example', ['user%far.example@test.com']),
  c('seed-multi-rcpt', 'someone@remote.example', ['tom@test.net', 'list@test.net', 'a@remote.example']),
  c('seed-postmaster', 'someone@remote.example', ['postmaster']),
  c('seed-ext-local', 'someone@remote.example', ['alice+tag@test.com']),
  // Headers, local context (client 127.0.0.1 = an interface address).
  c('seed-hdr-from-bare', 'joe@test.com', ['someone@remote.example'], ['From: joe', 'To: tom@test.net']),
  c('seed-hdr-display', 'someone@remote.example', ['someone@remote.example'], ['From: "Joe Q" <joe@test.com>', 'To: Bob <bob>, ann@test.com', 'Cc: user@host.test.com']),
  c('seed-hdr-masq', 'someone@remote.example', ['someone@remote.example'], ['From: user@host.test.com', 'To: user@host.test.com', 'Reply-To: root@host.test.com']),
  c('seed-hdr-unchanged', 'someone@remote.example', ['someone@remote.example'], ['From: Someone  <someone@remote.example>', 'To:   x@far.example ,y@far.example']),
  c('seed-hdr-resent', 'someone@remote.example', ['someone@remote.example'], ['Resent-From: joe', 'Resent-To: joe', 'Resent-Reply-To: joe', 'Sender: bob']),
  c('seed-hdr-group', 'someone@remote.example', ['someone@remote.example'], ['To: friends: joe, bob@test.com;', 'Cc: undisclosed-recipients:;']),
  c('seed-hdr-comment', 'someone@remote.example', ['someone@remote.example'], ['From: joe (Joe Example)', 'To: "quoted name" <"odd local"@test.com>']),
  c('seed-hdr-folded', 'someone@remote.example', ['someone@remote.example'], ['To: first@far.example,', ' joe,', '\tsecond@far.example']),
  c('seed-hdr-virtual-not', 'someone@remote.example', ['someone@remote.example'], ['To: tom@test.net, list@test.net']),
  c('seed-hdr-ext', 'someone@remote.example', ['someone@remote.example'], ['From: joe+tag', 'To: joe+tag@test.com']),
  c('seed-hdr-case', 'someone@remote.example', ['someone@remote.example'], ['FROM: joe', 'cc: bob@test.com']),
  c('seed-hdr-errors-to', 'someone@remote.example', ['someone@remote.example'], ['Errors-To: joe', 'Return-Receipt-To: joe', 'Mail-Followup-To: joe', 'Disposition-Notification-To: joe']),
  c('seed-hdr-apparently', 'someone@remote.example', ['someone@remote.example'], ['Apparently-To: joe', 'Bcc: bob']),
  c('seed-hdr-source-route', 'someone@remote.example', ['someone@remote.example'], ['To: <@hop.example:joe@test.com>']),
  c('seed-hdr-long', 'someone@remote.example', ['someone@remote.example'], ['To: user0@far.example, user1@far.example, user2@far.example, user3@far.example, user4@far.example, user5@far.example, user6@far.example, user7@far.example, user8@far.example, user9@far.example, user10@far.example, user11@far.example, joe', 'Cc: Some Person <joe>, "Another Person" <bob@test.com>, Third Person <third@far.example>, Fourth <fourth@far.example>']),
  c('seed-hdr-long-unchanged', 'someone@remote.example', ['someone@remote.example'], ['To: user0@far.example, user1@far.example, user2@far.example, user3@far.example, user4@far.example, user5@far.example, user6@far.example, user7@far.example, user8@far.example, user9@far.example, user10@far.example, user11@far.example']),
  c('seed-virtual-ext-local', 'someone@remote.example', ['tom+x@test.net']),
  c('seed-at-domain-ext', 'someone@remote.example', ['whoever+x@catch.example']),
  c('seed-sender-ext', 'joe+x@test.com', ['someone@remote.example']),
  c('seed-rcpt-ext-local-alias', 'someone@remote.example', ['alice+tag@test.com', 'ALICE@TEST.COM']),
  // Headers from a remote client: no rewriting (remote_header_rewrite_domain empty).
  c('seed-hdr-remote-none', 'someone@remote.example', ['someone@remote.example'], ['From: joe', 'To: bob@test.com, user@host.test.com'], '127.0.0.2'),
  c('seed-remote-envelope', 'joe', ['tom@test.net'], ['From: joe'], '127.0.0.2'),
];

const classesCases: DiffCase[] = [
  c('cls-rcpt-canonical', 'someone@remote.example', ['pat@test.com']),
  c('cls-sender-canonical-env-off', 'pat@test.com', ['someone@remote.example']),
  c('cls-masq-rcpt-on', 'someone@remote.example', ['u@host.test.com']),
  c('cls-masq-keep', 'u@a.keep.test.com', ['u@b.keep.test.com']),
  c('cls-masq-exact-keep', 'u@keep.test.com', ['someone@remote.example']),
  c('cls-ext-canonical', 'someone@remote.example', ['pat+x@test.com']),
  c('cls-ext-dash', 'someone@remote.example', ['pat-x@test.com']),
  c('cls-ext-virtual-no-prop', 'someone@remote.example', ['vx+tag@virt.example']),
  c('cls-owner-list', 'someone@remote.example', ['owner-list@virt.example']),
  c('cls-canonical-domain', 'someone@remote.example', ['z@old.example']),
  c('cls-canonical-then-masq', 'someone@remote.example', ['sue@test.com']),
  c('cls-myorigin-host', 'someone@remote.example', ['pat']),
  c('cls-hdr-local', 'someone@remote.example', ['someone@remote.example'], ['From: pat', 'To: pat, u@host.test.com', 'Cc: pat@test.com']),
  c('cls-hdr-remote', 'someone@remote.example', ['someone@remote.example'], ['From: pat', 'To: pat, u@host.test.com, x@y', 'Cc: "a b"@host.test.com'], '127.0.0.2'),
  c('cls-hdr-remote-qualified', 'someone@remote.example', ['someone@remote.example'], ['From: pat@test.com', 'Sender: pat@host.test.com'], '127.0.0.2'),
  c('cls-hdr-sender-canonical', 'someone@remote.example', ['someone@remote.example'], ['From: pat@mail.test.com', 'To: pat@mail.test.com']),
];

const compatCases: DiffCase[] = [
  c('compat-unqualified', 'someone@remote.example', ['alice']),
  c('compat-dot-mydomain', 'someone@remote.example', ['x@far']),
  c('compat-dot-mydomain-sender', 'x@far', ['someone@remote.example']),
  c('compat-bang', 'someone@remote.example', ['far.example!user']),
  c('compat-bang-local', 'someone@remote.example', ['mail.test.com!bang']),
  c('compat-percent', 'someone@remote.example', ['user%far.example@mail.test.com']),
  c('compat-trailing-dot', 'someone@remote.example', ['user@far.example.']),
  c('compat-local-trailing-dot', 'someone@remote.example', ['user@mail.test.com.']),
  c('compat-hdr', 'someone@remote.example', ['someone@remote.example'], ['From: alice', 'To: x@far, y@far.example., far2!z']),
  c('compat-literal', 'someone@remote.example', ['user@[127.0.0.1]']),
  c('compat-localhost', 'someone@remote.example', ['user@localhost.test.com']),
];

/** local(8) aliases (mailbox deliveries captured through mailbox_transport). */
const aliasMain = `${common}myorigin = $mydomain
mydestination = $myhostname, localhost, $mydomain
alias_maps = hash:{conf}/aliases
recipient_delimiter = +
`;

const aliasFiles: Record<string, string> = {
  aliases: `root: tom
postmaster: root
tom: tom, tom@remote.example
list: a@remote.example, bob, carol@test.com
owner-list: admin
loop1: loop2
loop2: loop1
ext: bob
staff: "Bob Person" <bob>, \\carol
multi: root, bob
dups: bob, bob, carol
carol: bob
inc: :include:{conf}/inc.txt
`,
  'inc.txt': `# included
bob
zed@remote.example
`,
};

const aliasCases: DiffCase[] = [
  c('alias-root', 'someone@remote.example', ['root@test.com']),
  c('alias-postmaster', 'someone@remote.example', ['postmaster@test.com']),
  c('alias-self', 'someone@remote.example', ['tom@test.com']),
  c('alias-list-owner', 'someone@remote.example', ['list@test.com']),
  c('alias-loop', 'someone@remote.example', ['loop1@test.com']),
  c('alias-ext', 'someone@remote.example', ['ext+x@test.com']),
  c('alias-none', 'someone@remote.example', ['bob@test.com']),
  c('alias-staff', 'someone@remote.example', ['staff@test.com']),
  c('alias-multi', 'someone@remote.example', ['multi@test.com']),
  c('alias-case', 'someone@remote.example', ['ROOT@test.com']),
  c('alias-dups', 'someone@remote.example', ['dups@test.com']),
  c('alias-include', 'someone@remote.example', ['inc@test.com']),
];

/** Expansion limits, canonical loops and multi-valued results, table-driven exceptions. */
const limitsMain = `${common}myorigin = $mydomain
mydestination = $myhostname, localhost, $mydomain
virtual_alias_maps = texthash:{conf}/virtual
virtual_alias_recursion_limit = 3
virtual_alias_expansion_limit = 3
virtual_alias_address_length_limit = 30
canonical_maps = texthash:{conf}/canonical
masquerade_domains = $mydomain
masquerade_exceptions = texthash:{conf}/exceptions
masquerade_classes = envelope_sender, envelope_recipient, header_sender, header_recipient
recipient_delimiter = +
`;

const limitsFiles: Record<string, string> = {
  virtual: `c1@v.example c2@v.example
c2@v.example c3@v.example
c3@v.example c4@v.example
c4@v.example end@remote.example
d1@v.example d2@v.example
d2@v.example d3@v.example
d3@v.example end@remote.example
l3@v.example a@remote.example, b@remote.example, c@remote.example
l4@v.example a@remote.example, b@remote.example, c@remote.example, d@remote.example
long@v.example aaaaaaaaaaaaaaaaaaaa@remote.example
short@v.example aaaaaaaaaaaaaaaaaa@remote.example
masq@test.com virt-target@remote.example
`,
  canonical: `a@test.com b@test.com
b@test.com a@test.com
m@test.com x@remote.example, y@remote.example
`,
  exceptions: `admin yes
`,
};

const limitsCases: DiffCase[] = [
  c('lim-recursion-over', 'someone@remote.example', ['c1@v.example']),
  c('lim-recursion-ok', 'someone@remote.example', ['d1@v.example']),
  c('lim-expansion-ok', 'someone@remote.example', ['l3@v.example']),
  c('lim-expansion-over', 'someone@remote.example', ['l4@v.example']),
  c('lim-length-over', 'someone@remote.example', ['long@v.example']),
  c('lim-length-ok', 'someone@remote.example', ['short@v.example']),
  c('lim-canonical-loop', 'someone@remote.example', ['a@test.com']),
  c('lim-canonical-multi', 'm@test.com', ['m@test.com']),
  c('lim-masq-exception-table', 'admin@host.test.com', ['admin@host.test.com', 'other@host.test.com']),
  c('lim-masq-before-virtual', 'someone@remote.example', ['masq@sub.test.com']),
  c('lim-duplicate-rcpts', 'someone@remote.example', ['x@far.example', 'x@far.example', 'X@far.example']),
  c('lim-hdr-masq-all', 'someone@remote.example', ['someone@remote.example'], ['From: u@a.test.com', 'To: admin@b.test.com, v@c.test.com', 'Cc: m@test.com']),
];

/** Pattern tables: they see only the full address; $1 substitution; odd syntax. */
const patternMain = `${common}myorigin = $mydomain
mydestination = $myhostname, localhost, $mydomain
canonical_maps = regexp:{conf}/canonical.re
virtual_alias_maps = regexp:{conf}/virtual.re, texthash:{conf}/virtual
recipient_delimiter = +
`;

const patternFiles: Record<string, string> = {
  'canonical.re': `/^(.*)@old\\.example$/ \${1}@new.example
/^joe$/ never-used@remote.example
/^(Mixed)@case\\.example$/ \${1}.Result@remote.example
`,
  'virtual.re': `/^list-(.*)@lists\\.example$/ owner-$1@remote.example, archive@remote.example
/^joe@test\\.com$/ joe-regexp@remote.example
`,
  virtual: `joe joe-local@remote.example
"a@b"@v.example quoted-at@remote.example
UPPER@v.example upper@remote.example
`,
};

const patternCases: DiffCase[] = [
  c('pat-canonical-subst', 'x@old.example', ['y+tag@old.example']),
  c('pat-canonical-no-partial', 'someone@remote.example', ['joe@test.com']),
  c('pat-canonical-case', 'someone@remote.example', ['Mixed@case.example']),
  c('pat-virtual-list', 'someone@remote.example', ['list-dev@lists.example']),
  c('pat-virtual-before-fixed', 'someone@remote.example', ['bob@test.com', 'joe+x@test.com']),
  c('pat-virtual-quoted-at', 'someone@remote.example', ['"a@b"@v.example']),
  c('pat-virtual-upper', 'someone@remote.example', ['upper@V.EXAMPLE']),
  c('pat-hdr', 'someone@remote.example', ['someone@remote.example'], ['From: <>', 'Reply-To: "" <>, x@old.example', 'To: "Name, With Comma" <u@old.example>, (comment) v@old.example (trailing)']),
];

export const SETUPS: DiffSetup[] = [
  { name: 'seed', main: seedMain, files: seedFiles, cases: seedCases },
  { name: 'classes', main: classesMain, files: classesFiles, cases: classesCases },
  { name: 'compat0', main: compatMain, files: {}, cases: compatCases },
  { name: 'aliases', main: aliasMain, files: aliasFiles, cases: aliasCases },
  { name: 'limits', main: limitsMain, files: limitsFiles, cases: limitsCases },
  { name: 'patterns', main: patternMain, files: patternFiles, cases: patternCases },
];

/** Settings the recorder adds to every setup's main.cf (the test reproduces them). */
export function extraSettings(setup: DiffSetup, dir: string): Record<string, string> {
  const set = new Set([...setup.main.matchAll(/^([a-z0-9_]+)\s*=/gm)].map((m) => m[1]));
  const extra: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: `${dir}/queue`,
    data_directory: `${dir}/data`,
    maillog_file: `${dir}/maillog`,
    inet_interfaces: '127.0.0.1',
    alias_maps: '',
    alias_database: '',
    mailbox_transport: 'lmailbox',
    smtpd_error_sleep_time: '0',
    smtp_dns_support_level: 'disabled',
  };
  for (const k of Object.keys(extra)) if (set.has(k)) delete extra[k];
  return extra;
}
