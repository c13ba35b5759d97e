/**
 * The checks a hub makes, in order, on a packet another hub forwarded to its federation intake,
 * before it verifies the signature against that link's trust anchors and routes the packet to
 * its own agencies. Pure: the caller says who is local.
 *
 * 1. the publisher (the broker-validated user-id) is the peer user of one of this hub's links,
 *    or the packet is in the inbox of a link the hub runs itself;
 * 2. the hop records do not already name this hub, and are fewer than the limit (no loops);
 * 3. the sender the packet names is served by that link: matched by its patterns, routed to it
 *    rather than to another link, and not one of this hub's own agencies (a remote hub cannot
 *    make this hub deliver a packet claiming to come from here).
 */
import type { ErrorCode } from '../errors.js';
import { untrustedLine } from '../untrusted.js';
import type { Hop } from './hops.js';
import { linkFor, type LinkRoute } from './patterns.js';

export interface IntakeRefusal {
  code: ErrorCode;
  message: string;
}

export interface PeerLink extends LinkRoute {
  /** The broker user a linked hub publishes to the intake exchange as (links over AMQP). */
  peerUser?: string;
  /** The inbox queues the hub's own process of the link fills (links over HTTP: the national axis). */
  inbox?: readonly string[];
}

/**
 * The link a packet came through: the one whose inbox the hub's own link process filled (only
 * the hub may write there), or else the one whose broker user published it (the broker checks
 * the user-id), or none.
 */
export function linkOfPeer<L extends PeerLink>(userId: string | undefined, links: readonly L[], queue?: string): L | undefined {
  const byInbox = queue === undefined ? undefined : links.find((link) => link.inbox?.includes(queue));
  if (byInbox) return byInbox;
  return userId === undefined ? undefined : links.find((link) => link.peerUser !== undefined && link.peerUser === userId);
}

export function peerRefusal(userId: string | undefined): IntakeRefusal {
  const who = userId === undefined ? 'without a broker user (no AMQP user-id)' : `as broker user "${untrustedLine(userId, 64)}"`;
  return { code: 'FEDERATION_LINK_UNKNOWN', message: `published to the federation intake ${who}, which no link of this hub names; the packet was not read` };
}

export function hopRefusal(hops: readonly Hop[] | undefined, hubOrganId: string, maxHops: number, link: string): IntakeRefusal | undefined {
  if (hops === undefined) {
    return { code: 'FEDERATION_LOOP', message: `the hop records (x-lt-hops) from link "${link}" cannot be read, so the route the packet took is unknown` };
  }
  if (hops.some((hop) => hop.hub === hubOrganId)) {
    return { code: 'FEDERATION_LOOP', message: `the packet already passed through this hub (${hubOrganId}) on its way: ${hops.map((h) => untrustedLine(h.hub, 40)).join(' → ')}; refused to end the loop` };
  }
  if (hops.length >= maxHops) {
    return { code: 'FEDERATION_LOOP', message: `the packet passed through ${hops.length} hubs, the most this hub accepts being ${maxHops - 1}` };
  }
  return undefined;
}

/**
 * `from`: the sender the packet names (From/OrganId). `isOwn`: whether an organ id is in this
 * hub's directory (its agencies, itself).
 */
export function senderRefusal<L extends LinkRoute>(from: string | undefined, link: L, links: readonly L[], isOwn: (organId: string) => boolean): IntakeRefusal | undefined {
  if (from === undefined || from === '') return { code: 'FEDERATION_SENDER_REFUSED', message: `the packet from link "${link.name}" names no sender (From/OrganId)` };
  const sender = untrustedLine(from, 64);
  if (isOwn(from)) {
    return { code: 'FEDERATION_SENDER_REFUSED', message: `link "${link.name}" forwarded a packet from ${sender}, an agency of this hub: this hub's agencies reach it only through their own edges` };
  }
  const serving = linkFor(from, links);
  if (serving !== link) {
    const patterns = link.patterns.map((p) => p.text).join(', ');
    return {
      code: 'FEDERATION_SENDER_REFUSED',
      message: serving
        ? `link "${link.name}" forwarded a packet from ${sender}, which link "${serving.name}" serves`
        : `link "${link.name}" forwarded a packet from ${sender}, which it does not serve (its patterns: ${patterns})`,
    };
  }
  return undefined;
}
