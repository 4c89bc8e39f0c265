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
export { REPLIES, CLEANUP_REPLIES, REPLY_CODE_PARAMS, formatReply, formatCleanupReply, type Reply } from './smtpd/replies.js';
export type { SessionState, ClientInfo, RcptEntry } from './smtpd/state.js';
export {
  FileQueue, QueueManager, createQueueResolver, sendTrigger, parseQueueFile, makeQueueId, isQueueId, formatDelay, backoffDelay,
  type QueueManagerOptions, type ResolvedRoute, type RouteResolver, type QueueFile, type LogEntry, type QueueName,
  type NewMessage, type QueuedRecipient, type QueueWriter, type QueueReservation,
} from './queue/queue.js';
export type { DeliveryAgent, DeliveryRequest, DeliveryRecipient, RecipientStatus } from './deliver/types.js';
export { builtinAgentFactory, type BuiltinAgentDeps } from './deliver/agents.js';
export { LocalAgent, aliasMapsLookup, splitAliasValue, type AliasLookup, type LocalAgentDeps } from './deliver/local.js';
export { SmtpAgent, dnsResolver, nativeResolver, type SmtpResolver, type SmtpAgentOptions } from './deliver/smtp.js';
export { VirtualAgent } from './deliver/virtual.js';
export { PipeAgent, parsePipeArgs, type PipeSpec } from './deliver/pipe.js';
export { ErrorAgent } from './deliver/error.js';
export { buildDsn, sendNonDelivery, sendDelayNotice, type DsnInput } from './deliver/bounce.js';
export { cleanupResubmitter, type Requeuer } from './deliver/resubmit.js';
export { createMailLog, memoryMailLog, formatLogLine, type MailLog } from './maillog.js';
export { formatJsonLogLine, parseLogFields, logFields, maillogFormatter, type LogLineFormatter } from './maillog-json.js';
export { ServerMetrics, MetricRegistry, enableTableMetrics, disableTableMetrics, tableMetrics, countQueues, type TableCounts } from './metrics.js';
export { MetricsEndpoint, parseMetricsListen, METRICS_CONTENT_TYPE } from './metrics-http.js';
export { listQueue, formatMailq, formatJson, type QueueListing } from './tools/showq.js';
export { superAction, type SuperAction } from './tools/postsuper.js';
export { formatPostcat } from './tools/postcat.js';
export { submitLocal, extractRecipients, type Submission } from './tools/submit.js';
// Types the exports above refer to (so that the API documentation shows them).
export type { AgentFactory } from './queue/manager.js';
export type { AliasHit } from './deliver/local.js';
export type { Owner } from './deliver/mailbox.js';
export type { CleanupStatus, CleanupReply, ReplyName, ReplyCodeParam } from './smtpd/replies.js';
export type { EnvelopeHeader, RecipientRecord } from './queue/file.js';
export type { Getpwnam, PasswdEntry } from './deliver/passwd.js';
export { MESSAGE_QUEUES } from './queue/store.js';
export type { MailLogOptions } from './maillog.js';
export { formatLabels } from './metrics.js';
export type { NotificationKind, NotifyContext } from './deliver/bounce.js';
export type { PeerStatus } from './smtpd/state.js';
export type { PostcatOptions } from './tools/postcat.js';
export type { SuperResult } from './tools/postsuper.js';
export type { TriggerCode } from './queue/trigger.js';
