// The national exchange axis as a federation link: the hub acting as one system of the axis
// (../shared/sdk-protocol.md). The hub wires a link of kind "axis" with `axisSettings` (its
// config block) and an `AxisConnector` (the link process).
export { AxisClient, DEFAULT_AXIS_TIMEOUT_MS } from './client.js';
export type { AxisClientOptions, ReceivedEntry, SendMeta } from './client.js';
export { AxisConnector } from './connector.js';
export type { AxisConnectorEvents, AxisConnectorOptions, AxisLinkCounters, LinkBroker } from './connector.js';
export type { AxisSink } from './inbound.js';
export { AXIS_DEFAULTS, axisSettings } from './settings.js';
export type { AxisSettings } from './settings.js';
