/**
 * What the national axis holds for the hub comes in by polling (the protocol has no push):
 * list the documents, then the status packets; fetch each; hand its bytes, unchanged, to the
 * hub's sink; and only once the sink has taken it, hand it back to the axis as taken
 * (`updateStatus done`, sdk-protocol.md §4.4). A packet the sink could not take is not handed
 * back, so the axis lists it again at the next poll; a packet handed to the sink whose
 * hand-back failed comes again too. At least once, then: the hub drops a packet id it already
 * has, so a repeat is harmless, and a loss is impossible.
 */
import { isLtError, LtError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { TAKEN, type MessageType } from '../../sdk-protocol/index.js';
import type { AxisClient } from './client.js';

/** Where the hub takes what comes from the axis (its federation intake). Resolves once the packet is safe. */
export type AxisSink = (bytes: Buffer, meta: { link: string; axisId: string; messageType: MessageType }) => Promise<void>;

export interface AxisPollerHooks {
  /** A call the axis answered. */
  answered(): void;
  /** A call that failed (the round ends on AXIS_UNREACHABLE; the connector then probes). */
  failed(error: LtError): void;
  /** A packet taken and handed back. */
  received(info: { axisId: string; messageType: MessageType; bytes: number }): void;
  /** The link is known down: polling waits for `wake()`. */
  isDown(): boolean;
  /** A round ended (with or without failures). */
  polled(): void;
}

export interface AxisPollerOptions {
  link: string;
  client: AxisClient;
  sink: AxisSink;
  intervalMs: number;
  log: Logger;
  hooks: AxisPollerHooks;
}

const TYPES: readonly MessageType[] = ['edoc', 'status'];

export class AxisPoller {
  private stopped = true;
  private sleeping: { timer: NodeJS.Timeout | undefined; wake: () => void } | undefined;
  private loop: Promise<void> | undefined;
  /** A wake() that came during a round: the next sleep is skipped. */
  private woken = false;

  constructor(private readonly options: AxisPollerOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Poll now (the axis is back, or a test wants it) instead of at the end of the interval. */
  wake(): void {
    if (this.sleeping) this.sleeping.wake();
    else this.woken = true;
  }

  /** Finish the round in progress (the packet in hand is handed back or left for next time), then stop. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.options.hooks.isDown()) {
        await this.round();
        this.options.hooks.polled();
      }
      // While the link is down the connector's probe decides when to look again (wake()).
      await this.sleep(this.options.hooks.isDown() ? undefined : this.options.intervalMs);
    }
  }

  private sleep(ms: number | undefined): Promise<void> {
    if (this.stopped || this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(this.sleeping?.timer);
        this.sleeping = undefined;
        resolve();
      };
      this.sleeping = { timer: ms === undefined ? undefined : setTimeout(wake, ms), wake };
    });
  }

  /** One round: every document, then every status packet the axis lists. */
  private async round(): Promise<void> {
    const { client, hooks } = this.options;
    try {
      for (const type of TYPES) {
        const items = await client.listReceived(type);
        hooks.answered();
        for (const item of items) {
          if (this.stopped) return;
          await this.take(item.docId, type);
        }
      }
    } catch (error) {
      // A fault of the link's own code must not end polling: it is reported like a failed call.
      hooks.failed(isLtError(error) ? error : new LtError('INTERNAL', `polling the national axis failed: ${(error as Error | undefined)?.message ?? String(error)}`, {}, { cause: error }));
    }
  }

  /** Fetch, hand to the sink, hand back. A refusal about this one packet is logged and the round goes on. */
  private async take(axisId: string, messageType: MessageType): Promise<void> {
    const { client, sink, link, log, hooks } = this.options;
    let bytes: Buffer;
    try {
      bytes = await client.getEdoc(axisId);
      hooks.answered();
    } catch (error) {
      if (isLtError(error) && error.code === 'AXIS_REFUSED') {
        hooks.failed(error);
        log.warn({ link, axisId, errorCode: error.code, err: error.message }, 'the national axis lists a packet it will not give; skipped, asked again at the next poll');
        return;
      }
      throw error;
    }
    try {
      await sink(bytes, { link, axisId, messageType });
    } catch (error) {
      log.error({ link, axisId, err: (error as Error).message }, 'the hub could not take a packet from the national axis; it is not handed back, so the axis offers it again at the next poll');
      return;
    }
    await client.updateStatus(axisId, TAKEN.done);
    hooks.answered();
    hooks.received({ axisId, messageType, bytes: bytes.length });
    log.info({ link, axisId, messageType, bytes: bytes.length }, 'packet received from the national axis');
  }
}
