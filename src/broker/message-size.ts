/**
 * Whether the broker takes a message as large as the largest packet. RabbitMQ refuses a message
 * over its `max_message_size` (3.10 default 128 MiB) by closing the publisher's channel, and
 * tells the limit nowhere else an AMQP client or the management API can read: the one way to
 * know is to publish a message of that size where no queue takes it (it is dropped unstored).
 */
import type { Channel } from 'amqplib';

export interface MessageSizeVerdict {
  /** The broker took a message of `bytes` bytes. */
  fits: boolean;
  /** The broker's limit, when it refused and said it. */
  brokerLimit?: number;
}

/** The limit in RabbitMQ's refusal: "message size 33554433 is larger than configured max size 16777216". */
export function brokerLimitOf(message: string): number | undefined {
  const match = /larger than (?:configured )?max size (\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/**
 * Publish `bytes` zero bytes to the default exchange under `unroutableKey` (a queue name that
 * cannot exist), on a channel of its own that the refusal may close. The check that follows on
 * the same channel answers only after the broker handled the publish (a channel is ordered).
 */
export async function probeMessageSize(channel: Channel, bytes: number, unroutableKey: string): Promise<MessageSizeVerdict> {
  try {
    channel.publish('', unroutableKey, Buffer.alloc(bytes), { mandatory: false });
    await channel.checkExchange('amq.direct');
    return { fits: true };
  } catch (error) {
    const message = (error as Error).message;
    if (!/PRECONDITION_FAILED|406/.test(message)) throw error;
    const brokerLimit = brokerLimitOf(message);
    return { fits: false, ...(brokerLimit !== undefined ? { brokerLimit } : {}) };
  }
}
