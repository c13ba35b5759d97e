/**
 * What an AMQP failure means for the person who has to fix it. amqplib reports a refused login,
 * a missing vhost and a closed port in very different words (some not naming the cause at all);
 * this is the one place that turns them into a stable code, advice that fits the cause, and
 * whether trying again can help.
 */
import { LtError, type ErrorCode } from '../errors.js';
import { redactUrl } from './url.js';

export interface BrokerFailure {
  error: LtError;
  /** Retrying cannot help until someone changes the broker or the configuration. */
  permanent: boolean;
}

/** AMQP reply codes (AMQP 0-9-1 §1.9) that RabbitMQ answers with. */
const CONNECTION_FORCED = 320;
const ACCESS_REFUSED = 403;
const NOT_FOUND = 404;
const RESOURCE_LOCKED = 405;
const PRECONDITION_FAILED = 406;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

interface Where {
  host: string;
  user: string;
  vhost: string;
}

function whereOf(url: string): Where {
  try {
    const u = new URL(url);
    const vhost = u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : '/';
    return { host: u.host || 'localhost', user: decodeURIComponent(u.username) || 'guest', vhost };
  } catch {
    return { host: '(unparseable AMQP URL)', user: 'guest', vhost: '/' };
  }
}

function failure(code: ErrorCode, message: string, permanent: boolean, cause: unknown): BrokerFailure {
  return { error: new LtError(code, message, {}, { cause }), permanent };
}

/**
 * Explain a failure to connect to, or to use, the broker at `url` (the password is never
 * shown; empty when the caller does not know it). `doing` says what was attempted, as in
 * "while setting up hub-router".
 */
export function explainBrokerFailure(error: unknown, url: string, doing = 'connecting'): BrokerFailure {
  if (error instanceof LtError) return { error, permanent: isPermanentCode(error.code) };
  const where = whereOf(url);
  const shown = redactUrl(url);
  const rabbit = url ? `RabbitMQ at ${shown}` : 'RabbitMQ';
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;

  // The handshake: refused login (amqplib: "Handshake terminated by server: 403 (ACCESS-REFUSED) ...").
  if (/Handshake terminated by server: 403|ACCESS[-_]REFUSED - Login was refused/.test(message)) {
    return failure(
      'BROKER_LOGIN_REFUSED',
      `RabbitMQ at ${where.host} refused the login of user "${where.user}": the user does not exist or its password is wrong. ` +
        'Check the user and password in the AMQP URL (amqpUrl, or AMQP_URL); an agency uses the broker user and password that "lienthong agency add" printed',
      true,
      error,
    );
  }
  // The broker closes the connection instead of opening the vhost; amqplib keeps only
  // "Expected ConnectionOpenOk; got <ConnectionClose channel:0>", which does not say why.
  if (/Expected ConnectionOpenOk; got <ConnectionClose/.test(message) || /NOT_ALLOWED - (access to )?vhost/.test(message)) {
    return failure(
      'BROKER_VHOST_REFUSED',
      `RabbitMQ at ${where.host} refused to open the virtual host "${where.vhost}" for user "${where.user}": the vhost does not exist or the user has no permissions on it. ` +
        `Check the vhost at the end of the AMQP URL (${shown}), or grant the user access: rabbitmqctl set_permissions -p "${where.vhost}" ${where.user} ...`,
      true,
      error,
    );
  }
  if (code === ACCESS_REFUSED) {
    return failure(
      'BROKER_ACCESS_REFUSED',
      `RabbitMQ refused ${url ? `user "${where.user}"` : 'its user'} while ${doing}: ${brokerText(message)}. ` +
        `Grant the permission it lacks on vhost "${where.vhost}" (rabbitmqctl list_permissions -p "${where.vhost}"); the hub's user needs configure, write and read on its prefix`,
      true,
      error,
    );
  }
  if (code === PRECONDITION_FAILED && /inequivalent arg|cannot (redeclare|change|declare)|durable|exclusive|auto_delete|exchange type|queue type/i.test(message)) {
    return failure(
      'BROKER_TOPOLOGY_CONFLICT',
      `RabbitMQ refused a declaration while ${doing}: ${brokerText(message)}. ` +
        'An exchange or queue of that name already exists with other properties: delete it if nothing uses it (management UI, or rabbitmqctl delete_queue), or give this deployment another prefix (LT_PREFIX)',
      true,
      error,
    );
  }
  if (code === NOT_FOUND) {
    return failure(
      'BROKER_NOT_FOUND',
      `RabbitMQ found no such queue or exchange while ${doing}: ${brokerText(message)}. It does not exist (yet): the hub declares them when it starts, and "lienthong agency add" declares an agency's lanes`,
      false,
      error,
    );
  }
  if (code === RESOURCE_LOCKED) {
    return failure('BROKER_ACCESS_REFUSED', `RabbitMQ refused access while ${doing}: ${brokerText(message)}. Another connection holds the queue exclusively`, false, error);
  }
  if (typeof code === 'number' && code >= 400 && code < 500) {
    // Other channel-level refusals (an acknowledgement of an unknown delivery, ...): the
    // channel is closed, the connection stays; a fresh channel works again.
    return failure('BROKER_CHANNEL_CLOSED', `RabbitMQ closed a channel while ${doing}: ${brokerText(message)}`, false, error);
  }
  if (code === CONNECTION_FORCED) {
    return failure('BROKER_UNREACHABLE', `RabbitMQ${url ? ` at ${where.host}` : ''} closed the connection while ${doing}: ${brokerText(message)} (the broker is stopping or an operator closed the connection)`, false, error);
  }
  const networkCode = typeof code === 'string' ? code : undefined;
  if (networkCode === 'ENOTFOUND') {
    return failure('BROKER_UNREACHABLE', `cannot connect to ${rabbit}: the host name is unknown (${message}). Check the host in the AMQP URL (amqpUrl, or AMQP_URL)`, false, error);
  }
  if (networkCode === 'ECONNREFUSED') {
    return failure(
      'BROKER_UNREACHABLE',
      `cannot connect to ${rabbit}: nothing accepts connections there (${message}). ` +
        'Start a broker (docker compose up -d rabbitmq, or the Debian package rabbitmq-server), or set AMQP_URL to where it runs',
      false,
      error,
    );
  }
  if ((networkCode && NETWORK_CODES.has(networkCode)) || /Socket closed abruptly|Unexpected close|Heartbeat timeout/.test(message)) {
    return failure('BROKER_UNREACHABLE', `the connection to ${rabbit} failed while ${doing}: ${message} (the broker stopped, restarted, or the network failed)`, false, error);
  }
  return failure('BROKER_UNREACHABLE', `${rabbit} failed while ${doing}: ${message}`, false, error);
}

function isPermanentCode(code: ErrorCode): boolean {
  return code === 'BROKER_LOGIN_REFUSED' || code === 'BROKER_VHOST_REFUSED' || code === 'BROKER_ACCESS_REFUSED' || code === 'BROKER_TOPOLOGY_CONFLICT';
}

/**
 * The broker's own sentence out of amqplib's wrapping, e.g. from `Operation failed:
 * ExchangeDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent
 * arg 'type' ..."` keep `inequivalent arg 'type' ...`.
 */
function brokerText(message: string): string {
  const quoted = /with message "(?:[A-Z_]+ - )?(.*)"\s*$/s.exec(message);
  return quoted?.[1] ?? message;
}
