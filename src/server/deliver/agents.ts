/**
 * The built-in master.cf services: `local` (local(8)), `virtual` (virtual(8)), `smtp` and `relay` (smtp(8)), `error`,
 * `retry`, `discard`. The queue manager asks this factory for an agent by service name.
 */
import type { Config } from '../../config/types.js';
import type { QueueWriter } from '../queue/types.js';
import type { RouteResolver } from '../queue/manager.js';
import type { DeliveryAgent, DeliveryRequest, RecipientStatus } from './types.js';
import { LocalAgent, type LocalAgentDeps } from './local.js';
import { SmtpAgent, type SmtpResolver } from './smtp.js';
import { ErrorAgent } from './error.js';
import { VirtualAgent } from './virtual.js';
import { PipeAgent, parsePipeArgs } from './pipe.js';
import type { MailLog } from '../maillog.js';

/** What {@link builtinAgentFactory} needs besides the configuration. */
export interface BuiltinAgentDeps {
  /** Where local(8) sends forwarded copies. */
  forward: QueueWriter;
  /** Route resolution, so local(8) knows which alias results it delivers itself. */
  resolve?: () => Promise<RouteResolver | undefined>;
  /** DNS for the SMTP client (tests inject one). */
  smtpResolver?: SmtpResolver;
  /** Overrides for local(8)'s dependencies (alias lookup, getpwnam, clock…), e.g. in tests. */
  local?: Partial<LocalAgentDeps>;
  /** The mail log; agents' warnings and info lines are written under their service name. */
  log?: MailLog;
}

/** The master.cf services of a loaded configuration, when it read one. */
type Svc = { service: string; type: string; command: string; args: string[]; overrides: Record<string, string> };
function masterServices(config: Config): readonly Svc[] | undefined {
  return (config as { services?: readonly Svc[] }).services;
}

/**
 * Build the agent for a service name, or undefined when there is no such service (the queue
 * manager then defers with "mail transport unavailable"). With a master.cf, the service's
 * program (`local`, `smtp`, `virtual`, `error`, `discard`, `pipe`) decides the agent and its
 * `-o` overrides apply; without one (or one with no unix services) the service name is taken
 * as the program.
 */
export function builtinAgentFactory(config: Config, deps: BuiltinAgentDeps): (service: string) => DeliveryAgent | undefined {
  // A master.cf without any unix (delivery) services gets the built-in ones by name.
  const all = masterServices(config);
  const services = all && all.some((x) => x.type === 'unix') ? all : undefined;
  const make = (service: string): DeliveryAgent | undefined => {
    let program = service;
    let cfg = config;
    let args: string[] = [];
    if (services) {
      const s = services.find((x) => x.service === service && x.type === 'unix');
      if (!s) return undefined;
      program = s.command;
      args = s.args;
      if (Object.keys(s.overrides).length) cfg = config.withOverrides(s.overrides);
    }
    switch (program) {
      case 'local': {
        const isLocal = async (address: string): Promise<boolean> => {
          const r = await deps.resolve?.();
          if (!r) {
            const at = address.lastIndexOf('@');
            const domain = at < 0 ? '' : address.slice(at + 1).toLowerCase();
            return at < 0 || cfg.list('mydestination').some((d) => d.toLowerCase() === domain);
          }
          const route = await r('', address);
          return !route.error && !route.fail && route.transport === service;
        };
        const pass = async (transport: string, nexthop: string, request: DeliveryRequest): Promise<RecipientStatus[]> => {
          const agent = transport === service ? undefined : make(transport);
          if (!agent) return request.recipients.map(() => ({ status: 'deferred', dsn: '4.3.0', text: 'mail transport unavailable', relay: 'none' }));
          return agent.deliver({ ...request, transport, nexthop });
        };
        return new LocalAgent(cfg, { forward: deps.forward, isLocal, pass, warn: (t) => deps.log?.warning(service, t), info: (t) => deps.log?.info(service, t), ...deps.local });
      }
      case 'smtp':
        return new SmtpAgent(cfg, { ...(deps.smtpResolver ? { resolver: deps.smtpResolver } : {}), log: (t) => deps.log?.info(service, t), warn: (t) => deps.log?.warning(service, t) });
      case 'virtual':
        return new VirtualAgent(cfg, undefined, (t) => deps.log?.warning(service, t));
      case 'error':
        // error(8) runs as both `error` (bounce) and `retry` (defer), by service name.
        return new ErrorAgent(service === 'retry' ? 'retry' : 'error');
      case 'retry':
        return new ErrorAgent('retry');
      case 'discard':
        return new ErrorAgent('discard');
      case 'pipe': {
        const spec = parsePipeArgs(args);
        if ('error' in spec) {
          deps.log?.warning(service, `fatal: ${spec.error}`);
          return undefined;
        }
        return new PipeAgent(cfg, service, spec);
      }
      default:
        return undefined;
    }
  };
  return make;
}
