/**
 * Whose turn it is to go to the national axis. Packets go one at a time, and the next one is
 * always the oldest urgent packet waiting, else the oldest normal one. A packet whose sending
 * failed because the axis is unreachable goes back to its place in line (its age is kept) and
 * the line is closed: nobody goes until the axis answers again, and then the urgent ones go
 * first, whatever was being sent when the axis went away.
 *
 * Why a line of its own rather than the consumer's urgent-first buffer: a delivery the
 * consumer hands to its handler cannot be given back to its buffer except by returning it to
 * the broker, and on quorum queues every return counts toward the delivery limit (see
 * src/fault-gate.ts): an outage of the axis would then dead-letter healthy packets. Here every
 * delivery the consumer was given waits in this line, unacknowledged and uncounted.
 */
import type { Lane } from '../../broker/names.js';

/** A place in line, kept across attempts. */
export interface Ticket {
  readonly lane: Lane;
  /** Arrival order: the older, the sooner within its lane. */
  readonly seq: number;
  /** The packet id: a newer delivery of the same packet replaces a ticket still waiting. */
  readonly key: string | undefined;
}

/** The broker gave the same packet again (its first delivery's channel died): the older ticket gives way. */
export class Superseded extends Error {
  constructor() {
    super('a newer delivery of the same packet took this place in line');
    this.name = 'Superseded';
  }
}

/** The line is stopped: the link is shutting down. */
export class LineStopped extends Error {
  constructor() {
    super('the link is stopping');
    this.name = 'LineStopped';
  }
}

interface Waiter {
  ticket: Ticket;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class PriorityTurns {
  private seq = 0;
  private readonly waiting: Record<Lane, Waiter[]> = { urgent: [], normal: [] };
  private holder: Ticket | undefined;
  private closed = false;
  private stopped = false;

  /** A place in line for a delivery of `lane`. */
  ticket(lane: Lane, key?: string): Ticket {
    this.seq += 1;
    return { lane, seq: this.seq, key };
  }

  /**
   * Resolves when it is this ticket's turn (it then holds the line until `done` or `close`).
   * Rejects with Superseded when a newer ticket of the same key came while this one waited,
   * with LineStopped when the line stops.
   */
  turn(ticket: Ticket): Promise<void> {
    if (this.stopped) return Promise.reject(new LineStopped());
    return new Promise<void>((resolve, reject) => {
      if (ticket.key !== undefined) {
        for (const lane of ['urgent', 'normal'] as const) {
          const older = this.waiting[lane].findIndex((w) => w.ticket.key === ticket.key);
          if (older !== -1) this.waiting[lane].splice(older, 1)[0]?.reject(new Superseded());
        }
      }
      const line = this.waiting[ticket.lane];
      const after = line.findIndex((w) => w.ticket.seq > ticket.seq);
      line.splice(after === -1 ? line.length : after, 0, { ticket, resolve, reject });
      this.grant();
    });
  }

  /** The holder is through (sent, or given up): the next one goes. */
  done(ticket: Ticket): void {
    if (this.holder === ticket) this.holder = undefined;
    this.grant();
  }

  /**
   * The axis is unreachable: the line is closed until `open`. The holder that found out (if
   * given) goes back to its place; it waits again through `turn`.
   */
  close(ticket?: Ticket): void {
    this.closed = true;
    if (ticket && this.holder === ticket) this.holder = undefined;
  }

  /** The axis answers again: the oldest urgent ticket goes first. */
  open(): void {
    this.closed = false;
    this.grant();
  }

  /** Every waiting ticket is refused with LineStopped; no more turns. */
  stop(): void {
    this.stopped = true;
    for (const lane of ['urgent', 'normal'] as const) for (const w of this.waiting[lane].splice(0)) w.reject(new LineStopped());
  }

  /** Tickets waiting for their turn. */
  get length(): number {
    return this.waiting.urgent.length + this.waiting.normal.length;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private grant(): void {
    if (this.closed || this.stopped || this.holder) return;
    const next = this.waiting.urgent.shift() ?? this.waiting.normal.shift();
    if (!next) return;
    this.holder = next.ticket;
    next.resolve();
  }
}
