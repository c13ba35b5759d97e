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

  const tls = explainTlsFailure(error, message, code, url, rabbit);
  if (tls) return tls;
  if (/Login was refused using authentication mechanism EXTERNAL/.test(message)) {
    return failure(
      'BROKER_LOGIN_REFUSED',
      `RabbitMQ at ${where.host} refused the certificate login (EXTERNAL): it has no user named as the client certificate (brokerTls.cert) says, or received no certificate. ` +
        'The certificate\'s common name must be the broker user (ssl_cert_login_from = common_name in rabbitmq.conf; an agency\'s is the user "lienthong agency add" printed), and ssl_options.verify = verify_peer makes the broker ask for it',
      true,
      error,
    );
  }
  if (/SASL mechanism EXTERNAL is not provided by the server/.test(message)) {
    return failure(
      'BROKER_LOGIN_REFUSED',
      `RabbitMQ at ${where.host} does not offer the certificate login (EXTERNAL) a client certificate (brokerTls.cert) asks for: enable it ("rabbitmq-plugins enable rabbitmq_auth_mechanism_ssl", and auth_mechanisms.3 = EXTERNAL in rabbitmq.conf), or remove brokerTls.cert and brokerTls.key to log in with the URL's password`,
      true,
      error,
    );
  }
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
  if (/^amqp:/i.test(url) && doing === 'connecting' && (networkCode === 'ECONNRESET' || /Socket closed abruptly during opening handshake/.test(message))) {
    // A TLS listener closes (or resets) a plain client's connection without a word; so does a broker stopping.
    return failure(
      'BROKER_UNREACHABLE',
      `${rabbit} closed the connection before the AMQP handshake: if port ${portOf(url)} is the broker's TLS listener (5671 by default), the AMQP URL must start with amqps:// (and "brokerTls" name its CA); otherwise the broker is stopping or refused the connection`,
      false,
      error,
    );
  }
  if (/before secure TLS connection was established/.test(message)) {
    return failure(
      'BROKER_UNREACHABLE',
      `${rabbit} closed the connection during the TLS handshake (${message}): a broker that does not accept this node's client certificate (brokerTls.cert) does so, as does one stopping`,
      false,
      error,
    );
  }
  if ((networkCode && NETWORK_CODES.has(networkCode)) || /Socket closed abruptly|Unexpected close|Heartbeat timeout/.test(message)) {
    return failure('BROKER_UNREACHABLE', `the connection to ${rabbit} failed while ${doing}: ${message} (the broker stopped, restarted, or the network failed)`, false, error);
  }
  return failure('BROKER_UNREACHABLE', `${rabbit} failed while ${doing}: ${message}`, false, error);
}

/** Certificate codes of Node's TLS sockets (OpenSSL's verify results) that say who to trust is the problem. */
const UNTRUSTED_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'INVALID_CA',
]);

function portOf(url: string): string {
  try {
    const u = new URL(url);
    return u.port || (u.protocol === 'amqps:' ? '5671' : '5672');
  } catch {
    return '(unknown)';
  }
}

/**
 * The TLS handshake failed: the broker's certificate is not trusted or names another host, the
 * broker refused this side's certificate, or one side speaks TLS and the other does not. None
 * of it passes by trying again.
 */
function explainTlsFailure(error: unknown, message: string, code: unknown, url: string, rabbit: string): BrokerFailure | undefined {
  if (typeof code !== 'string') return undefined;
  const tls = (text: string): BrokerFailure => failure('BROKER_TLS', `the TLS connection to ${rabbit} failed: ${text}`, true, error);
  if (UNTRUSTED_CODES.has(code)) {
    return tls(
      `the broker's certificate is not signed by a CA this node trusts (${code}: ${message}). ` +
        "Set brokerTls.ca (or LT_BROKER_CA) to the PEM file of the CA that issued the broker's certificate (rabbitmq.conf ssl_options.cacertfile names it on the broker)",
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return tls(`the broker's certificate does not name the host this node connects to (${message}). Put a host name the certificate carries in the AMQP URL, or set brokerTls.servername to the name it carries`);
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return tls(`the broker's certificate is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'} (${message}). Renew the broker's certificate (ssl_options.certfile), or check this machine's clock`);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ERR_SSL_HTTP_REQUEST') {
    return tls(`port ${portOf(url)} does not speak TLS (${code}): it is probably the plain AMQP port. Use the broker's TLS port (listeners.ssl, 5671 by default) in the amqps:// URL, or amqp:// for a plain listener`);
  }
  if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA') {
    return tls(`the broker does not trust this node's client certificate (brokerTls.cert): it is not issued by the CA of the broker's ssl_options.cacertfile. Issue it from that CA, or add its CA there`);
  }
  if (/^ERR_SSL_.*(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|HANDSHAKE_FAILURE|CERTIFICATE_UNKNOWN|ACCESS_DENIED)$/.test(code)) {
    return tls(
      `the broker refused the TLS handshake (${code}): it requires a client certificate it trusts (ssl_options.fail_if_no_peer_cert) or other TLS settings. ` +
        "Give this node a client certificate issued by the broker's CA (brokerTls.cert and brokerTls.key)",
    );
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return tls(`${code}: ${message}. Check the broker's TLS listener and the files of brokerTls`);
  return undefined;
}

function isPermanentCode(code: ErrorCode): boolean {
  return code === 'BROKER_TLS' || code === 'BROKER_LOGIN_REFUSED' || code === 'BROKER_VHOST_REFUSED' || code === 'BROKER_ACCESS_REFUSED' || code === 'BROKER_TOPOLOGY_CONFLICT';
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
