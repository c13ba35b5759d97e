/**
 * How a packet travels as an AMQP message (design.md): persistent, `message-id` = packet id,
 * `type` = edoc | status, `timestamp`, the `x-lt-*` headers routers and dashboards read
 * without parsing XML, and the edXML bytes as body.
 */
import type { ConsumeMessage, Options } from 'amqplib';
import type { Lane } from './names.js';

export type PacketType = 'edoc' | 'status';

export interface PacketEnvelope {
  packetId: string;
  type: PacketType;
  from: string;
  to: string[];
  priority: string;
  documentId: string;
  lane: Lane;
  /** The publishing broker user, checked by RabbitMQ (edges set it; the hub reads it). */
  userId?: string;
  /** Extra headers (bounce reason, status code...). */
  extra?: Record<string, string>;
}

export function publishOptions(e: PacketEnvelope, now = new Date()): Options.Publish {
  return {
    persistent: true,
    messageId: e.packetId,
    type: e.type,
    timestamp: Math.floor(now.getTime() / 1000),
    contentType: 'application/xml',
    contentEncoding: 'utf-8',
    ...(e.userId ? { userId: e.userId } : {}),
    headers: {
      'x-lt-from': e.from,
      'x-lt-to': e.to.join(','),
      'x-lt-priority': e.priority,
      'x-lt-document-id': e.documentId,
      'x-lt-lane': e.lane,
      ...e.extra,
    },
  };
}

/** What the AMQP properties say about a packet (claims, until the XML is verified). */
export interface ReceivedProperties {
  packetId: string | undefined;
  type: string | undefined;
  userId: string | undefined;
  headers: Record<string, string>;
}

export function readProperties(message: ConsumeMessage): ReceivedProperties {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.properties.headers ?? {})) {
    if (key.startsWith('x-lt-') && value !== undefined && value !== null) headers[key] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return {
    packetId: typeof message.properties.messageId === 'string' ? message.properties.messageId : undefined,
    type: typeof message.properties.type === 'string' ? message.properties.type : undefined,
    userId: typeof message.properties.userId === 'string' ? message.properties.userId : undefined,
    headers,
  };
}

/** Deliveries about one document are handled in arrival order (LaneConsumer's orderKey). */
export function documentOrderKey(delivery: { message: ConsumeMessage }): string | undefined {
  const value = delivery.message.properties.headers?.['x-lt-document-id'];
  return value === undefined || value === null ? undefined : String(value);
}
