/**
 * The queue, as the rest of the server uses it: {@link FileQueue} (the on-disk queue, a
 * {@link QueueWriter} for cleanup) and {@link QueueManager} (qmgr: `start()` / `stop()`).
 *
 * ```ts
 * const queue = new FileQueue(config.get('queue_directory'), config);
 * const qmgr = new QueueManager(queue, config);
 * await qmgr.start();
 * ```
 */
export { FileQueue, MESSAGE_QUEUES, LOG_QUEUES } from './store.js';
export type { QueueName, LogName, LogEntry } from './store.js';
export { QueueManager, formatDelay, backoffDelay } from './manager.js';
export type { QueueManagerOptions, ResolvedRoute, RouteResolver, AgentFactory } from './manager.js';
export { parseQueueFile, serializeQueueFile, makeQueueId, isQueueId } from './file.js';
export type { QueueFile, RecipientRecord, EnvelopeHeader } from './file.js';
export { sendTrigger, triggerPath } from './trigger.js';
export { createQueueResolver } from './route.js';
export type { NewMessage, QueuedRecipient, QueueWriter, QueueReservation } from './types.js';
