// The AMQP layer: one reconnecting connection, confirmed publishing, two-lane consumers,
// topology and names, the management API.
export { BrokerConnection, redactUrl } from './connection.js';
export type { BrokerPart, BrokerConnectionOptions } from './connection.js';
export { ConfirmPublisher } from './publisher.js';
export type { OutgoingMessage, ConfirmPublisherOptions } from './publisher.js';
export { LaneConsumer } from './consumer.js';
export type { Delivery, LaneQueue, Verdict, LaneConsumerOptions } from './consumer.js';
export { resourceNames, DEFAULT_PREFIX, escapeForPermission } from './names.js';
export type { Lane, ResourceNames } from './names.js';
export { ManagementClient } from './management.js';
export type { ManagementOptions, QueueInfo } from './management.js';
export * from './topology.js';
export { publishOptions, readProperties } from './message.js';
export type { PacketEnvelope, PacketType, ReceivedProperties } from './message.js';
