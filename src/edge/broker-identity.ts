/**
 * An edge publishes only as its own agency's broker user. The hub knows who sent a packet from
 * the AMQP user-id RabbitMQ validated; under any other user (the broker's administrator
 * `guest`, the hub's, another agency's) what the edge sends cannot be attributed, or is
 * attributed to the wrong agency. So an edge refuses to start unless its AMQP URL names the
 * user `lienthong agency add` created for its organ id.
 */
import type { ResourceNames } from '../broker/names.js';
import { loadBrokerTls } from '../broker/tls.js';
import { LtError } from '../errors.js';
import type { EdgeConfig } from './config.js';

export function assertAgencyBrokerUser(config: Pick<EdgeConfig, 'organId' | 'amqpUrl' | 'brokerUser'>, names: ResourceNames): void {
  const expected = names.agencyUser(config.organId);
  const remedy =
    `set AMQP_URL (or "amqpUrl" in the edge configuration) to the AMQP URL "lienthong agency add ${config.organId}" printed: ` +
    `amqp://${expected}:<password>@<broker host>:5672?queueToken=<token>`;
  if (config.amqpUrl === '') {
    throw new LtError('BROKER_USER_MISMATCH', `no AMQP URL is configured for edge ${config.organId}; ${remedy}`, { path: 'amqpUrl' });
  }
  if (config.brokerUser === expected) return;
  const other = names.organOfUser(config.brokerUser);
  const whose =
    config.brokerUser === ''
      ? 'no broker user'
      : other !== undefined
        ? `broker user "${config.brokerUser}", agency ${other}'s`
        : `broker user "${config.brokerUser}", which is no agency's (the hub could not tell who sent its packets)`;
  throw new LtError('BROKER_USER_MISMATCH', `the AMQP URL of edge ${config.organId} connects with ${whose}, not ${expected}; ${remedy}`, { path: 'amqpUrl' });
}

/**
 * With a client certificate the broker logs the edge in as the certificate's common name
 * (EXTERNAL, ssl_cert_login_from = common_name), not as the URL's user: the two must be the
 * same user, or every publish naming the URL's user as user-id would be refused.
 */
export function assertCertificateUser(config: Pick<EdgeConfig, 'organId' | 'brokerUser' | 'tls'>): void {
  if (!config.tls?.cert) return;
  const name = loadBrokerTls(config.tls).clientName;
  if (name === config.brokerUser) return;
  throw new LtError(
    'BROKER_USER_MISMATCH',
    `the client certificate of edge ${config.organId} (brokerTls.cert ${config.tls.cert}) ${name === undefined ? 'has no common name' : `is for "${name}"`}, but the edge publishes as broker user "${config.brokerUser}" (the user of its AMQP URL): ` +
      `the broker logs a certificate in as its common name, so issue the client certificate with CN=${config.brokerUser}`,
    { path: 'brokerTls.cert' },
  );
}
