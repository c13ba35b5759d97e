/**
 * The one builder of broker resource names. Every exchange, queue and user name starts with
 * the configured prefix, so several deployments, and every test run, can share one broker.
 */
import { LtError } from '../errors.js';

export const DEFAULT_PREFIX = 'lt';

export type Lane = 'urgent' | 'normal';

/**
 * Whose delivery queues: RabbitMQ checks no permission on a passive `queue.declare`, so any
 * broker user who can guess a queue's name can read its depth and consumers. An agency's
 * queues therefore carry a random token issued at `agency add` (empty for an agency
 * provisioned before tokens existed: the old, guessable names).
 */
export interface QueueOwner {
  organId: string;
  queueToken: string;
}

/** What `agency add` generates: URL-safe, no dot (a queue name's separator). */
export const QUEUE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{0,64}$/;

/** The AMQP URL parameter that hands an edge its queue token with its credentials (amqplib ignores it). */
export const QUEUE_TOKEN_PARAMETER = 'queueToken';

export interface ResourceNames {
  prefix: string;
  /** Direct exchange every edge publishes to, routing key = lane. */
  submit: string;
  /** The hub's inbound queues, one per lane. */
  hubInbound: Record<Lane, string>;
  /** Direct exchange the hub delivers through, routing key = `deliverKey(organ, lane)`. */
  deliver: string;
  /** Dead-letter exchange and the queue collecting what could not be processed. */
  dead: string;
  deadLetters: string;
  agencyQueue(owner: QueueOwner, lane: Lane): string;
  /** Routing keys stay organ ids: binding keys are not secret, queue names are. */
  deliverKey(organId: string, lane: Lane): string;
  /** The RabbitMQ user of an agency's edge. */
  agencyUser(organId: string): string;
  /** Inverse of agencyUser, or undefined for any other user name. */
  organOfUser(user: string): string | undefined;
  /** Direct exchange linked hubs publish to (routing key = lane): this hub's federation intake. */
  federationIn: string;
  /** The hub's federation intake queues, one per lane, bound to `federationIn`. */
  hubFederationIn: Record<Lane, string>;
  /** The durable queue of one link to another hub, per lane: what waits to be forwarded there. */
  federationQueue(link: string, lane: Lane): string;
  /**
   * What a link run inside the hub (the national axis) took from the far end, per lane, waiting
   * for the intake: only the hub itself can publish there (no other user may write to it).
   */
  federationInbox(link: string, lane: Lane): string;
  /** The RabbitMQ user a linked hub publishes to `federationIn` as (provisioned by `hub link add`). */
  linkUser(link: string): string;
  /** Inverse of linkUser, or undefined for any other user name. */
  linkOfUser(user: string): string | undefined;
  /** Every name this deployment owns starts with this (for listing and clean-up). */
  owns(name: string): boolean;
}

/** A link's name: it becomes part of queue and user names, so no dot (their separator). */
export const LINK_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const PREFIX_PATTERN = /^[a-z0-9][a-z0-9_-]{0,40}$/i;

export function resourceNames(prefix: string = DEFAULT_PREFIX): ResourceNames {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`broker prefix "${prefix}" must be 1-41 letters, digits, "-" or "_" (it starts every queue and exchange name)`);
  }
  const userPrefix = `${prefix}.agency.`;
  const linkUserPrefix = `${prefix}.link.`;
  const link = (name: string): string => {
    if (!LINK_NAME_PATTERN.test(name)) throw new LtError('CONFIG_INVALID', `link name "${name}" must be 1-32 lower-case letters, digits, "-" or "_"`);
    return name;
  };
  return {
    prefix,
    submit: `${prefix}.submit`,
    hubInbound: { urgent: `${prefix}.hub.inbound.urgent`, normal: `${prefix}.hub.inbound` },
    deliver: `${prefix}.deliver`,
    dead: `${prefix}.dead`,
    deadLetters: `${prefix}.dead-letters`,
    agencyQueue: ({ organId, queueToken }, lane) => {
      if (!QUEUE_TOKEN_PATTERN.test(queueToken)) {
        throw new LtError('CONFIG_INVALID', `the queue token of ${organId} must be up to 64 letters, digits, "-" or "_"; copy it again from "agency add" (the queueToken of the AMQP URL)`);
      }
      return `${prefix}.agency.${organId}${queueToken ? `.${queueToken}` : ''}${lane === 'urgent' ? '.urgent' : ''}`;
    },
    deliverKey: (organId, lane) => `${organId}${lane === 'urgent' ? '.urgent' : ''}`,
    agencyUser: (organId) => `${userPrefix}${organId}`,
    organOfUser: (user) => (user.startsWith(userPrefix) ? user.slice(userPrefix.length) : undefined),
    federationIn: `${prefix}.federation-in`,
    hubFederationIn: { urgent: `${prefix}.hub.federation-in.urgent`, normal: `${prefix}.hub.federation-in` },
    federationQueue: (name, lane) => `${prefix}.federation.${link(name)}${lane === 'urgent' ? '.urgent' : ''}`,
    federationInbox: (name, lane) => `${prefix}.federation.${link(name)}.in${lane === 'urgent' ? '.urgent' : ''}`,
    linkUser: (name) => `${linkUserPrefix}${link(name)}`,
    linkOfUser: (user) => (user.startsWith(linkUserPrefix) ? user.slice(linkUserPrefix.length) : undefined),
    owns: (name) => name.startsWith(`${prefix}.`),
  };
}

/** Regex-escaped name, for RabbitMQ permission patterns. */
export function escapeForPermission(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
