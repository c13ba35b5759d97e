/**
 * Structured JSON logs (pino). Every line about a packet carries `packetId` and `documentId`
 * as fields, so one grep follows a document through edge, hub and edge.
 *
 * Every line names its `component` once: the most specific one (a hub's dashboard logs as
 * "dashboard", not as "hub" and "dashboard"). pino's bindings only ever add keys, so a child
 * binding `component` again wrote the key twice; the component is kept on the logger instead
 * (children inherit it) and added to each line by a mixin.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  /** Default: env LT_LOG_LEVEL, else "info". */
  level?: string;
  /** Where the lines go; default stdout. */
  destination?: NodeJS.WritableStream;
}

const COMPONENT = Symbol('lienthong.component');

type WithComponent = Logger & { [COMPONENT]?: string };

export function createLogger(component: string, options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.LT_LOG_LEVEL ?? 'info';
  const logger: WithComponent = pino(
    {
      level,
      base: null, // no pid/hostname: one process per component, and the lines stay short
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: (_fields, _level, instance) => ({ component: (instance as WithComponent)[COMPONENT] }),
    },
    (options.destination ?? process.stdout) as never,
  );
  logger[COMPONENT] = component;
  return logger;
}

/** A child logger for a part of a component (e.g. the hub's dashboard): `component` is replaced, not repeated. */
export function componentLogger(parent: Logger, component: string): Logger {
  if (!(COMPONENT in parent)) return parent.child({ component }); // not made by createLogger: no component yet
  const child: WithComponent = parent.child({});
  child[COMPONENT] = component;
  return child;
}

/** A logger that writes nothing (tests, the quiet demo). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
