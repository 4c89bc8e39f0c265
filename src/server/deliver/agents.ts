/**
 * The built-in master.cf services: `local` (local(8)), `virtual` (virtual(8)), `smtp` and `relay` (smtp(8)), `error`,
 * `retry`, `discard`. The queue manager asks this factory for an agent by service name.
 */
import type { Config } from '../../config/types.js';
import type { QueueWriter } from '../queue/types.js';
import type { RouteResolver } from '../queue/manager.js';
import type { DeliveryAgent } from './types.js';
import { LocalAgent, type LocalAgentDeps } from './local.js';
import { SmtpAgent, type SmtpResolver } from './smtp.js';
import { ErrorAgent } from './error.js';
import { VirtualAgent } from './virtual.js';
import type { MailLog } from '../maillog.js';

export interface BuiltinAgentDeps {
  /** Where local(8) sends forwarded copies. */
  forward: QueueWriter;
  /** Route resolution, so local(8) knows which alias results it delivers itself. */
  resolve?: () => Promise<RouteResolver | undefined>;
  /** DNS for the SMTP client (tests inject one). */
  smtpResolver?: SmtpResolver;
  local?: Partial<LocalAgentDeps>;
  log?: MailLog;
}

/** Build the agent for a service name, or undefined for an unknown service. */
export function builtinAgentFactory(config: Config, deps: BuiltinAgentDeps): (service: string) => DeliveryAgent | undefined {
  return (service) => {
    switch (service) {
      case 'local': {
        const isLocal = async (address: string): Promise<boolean> => {
          const r = await deps.resolve?.();
          if (!r) {
            const at = address.lastIndexOf('@');
            const domain = at < 0 ? '' : address.slice(at + 1).toLowerCase();
            return at < 0 || config.list('mydestination').some((d) => d.toLowerCase() === domain);
          }
          const route = await r('', address);
          return !route.error && !route.fail && route.transport === service;
        };
        return new LocalAgent(config, { forward: deps.forward, isLocal, warn: (t) => deps.log?.warning(service, t), ...deps.local });
      }
      case 'smtp':
      case 'relay':
        return new SmtpAgent(config, { ...(deps.smtpResolver ? { resolver: deps.smtpResolver } : {}), log: (t) => deps.log?.info(service, t) });
      case 'virtual':
        return new VirtualAgent(config);
      case 'error':
        return new ErrorAgent('error');
      case 'retry':
        return new ErrorAgent('retry');
      case 'discard':
        return new ErrorAgent('discard');
      default:
        return undefined;
    }
  };
}
