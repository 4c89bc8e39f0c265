/**
 * The reference MTA built on the SDK.
 * @packageDocumentation
 */
export {};
export { Server, type ServeOptions, defaultMainCf, DEFAULT_MASTER_CF, parseListen } from './serve.js';
export { Cleanup, splitHeaders, type CleanupRewriter, type CleanupOptions, type HeaderField } from './cleanup.js';
export { AccessChecks, relaySafetyError, type AccessDeps, type ResolveReply } from './smtpd/access.js';
export { SmtpSession, type SmtpdSettings, type SmtpdPolicy, type MessageReceiver, type ReceiveResult, type SmtpdLog, type SessionTransport } from './smtpd/session.js';
export { SmtpListener, systemPeerLookup, noPeerLookup, type PeerLookup, type ListenerComponents } from './smtpd/server.js';
export { smtpdSettings } from './smtpd/settings.js';
export { createSmtpdRouting, type SmtpdRouting, type WiringOptions } from './smtpd/wiring.js';
export { nodeDns, staticDns, type DnsResolver, type DnsAnswer, type RecordType } from './smtpd/dns.js';
export { REPLIES, CLEANUP_REPLIES, REPLY_CODE_PARAMS, formatReply, type Reply } from './smtpd/replies.js';
export type { SessionState, ClientInfo, RcptEntry } from './smtpd/state.js';
