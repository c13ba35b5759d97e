/**
 * Organ-id patterns of hub links and the pure routing decision: which link, if any, serves an
 * organ id. A pattern is an organ id in which `*` stands for any run of organ-id characters:
 * `*.H53` is every agency of the province whose level-1 code is H53, `*.G*` every central one.
 */
import { LtError } from '../errors.js';

/** What a link pattern may be written with: organ-id characters and the wildcard. */
const PATTERN_TEXT = /^[0-9A-Z.*]{1,35}$/;

export interface OrganPattern {
  /** As written in the configuration. */
  text: string;
  /** The characters the pattern fixes: the more, the more specific. */
  literal: number;
  test(organId: string): boolean;
}

export function compilePattern(text: string, where = 'pattern'): OrganPattern {
  if (typeof text !== 'string' || !PATTERN_TEXT.test(text)) {
    throw new LtError('CONFIG_INVALID', `${where} "${String(text)}" must be an organ id in which "*" stands for any part, e.g. "*.H53" (capital letters, digits, ".", "*")`);
  }
  const literal = text.replace(/\*/g, '').replace(/\./g, '').length;
  if (literal === 0) throw new LtError('CONFIG_INVALID', `${where} "${text}" matches every organ id; name the level-1 code it serves, e.g. "*.H53"`);
  const regex = new RegExp(`^${text.replace(/\./g, '\\.').replace(/\*/g, '[0-9A-Z.]*')}$`);
  return { text, literal, test: (organId) => regex.test(organId) };
}

/** A link as routing sees it: its name and the organ ids it serves. */
export interface LinkRoute {
  name: string;
  patterns: readonly OrganPattern[];
}

/**
 * The link that serves `organId`, or undefined. Where the patterns of several links match, the
 * most specific pattern wins (`*.G22` before `*.G*`), so that an operator can carve one central
 * agency group out of the national axis; equally specific matches are refused at configuration.
 */
export function linkFor<L extends LinkRoute>(organId: string, links: readonly L[]): L | undefined {
  let best: { link: L; literal: number } | undefined;
  for (const link of links) {
    for (const pattern of link.patterns) {
      if (pattern.test(organId) && (!best || pattern.literal > best.literal)) best = { link, literal: pattern.literal };
    }
  }
  return best?.link;
}

/** Where a recipient is reached from this hub. */
export type RecipientRoute<L extends LinkRoute = LinkRoute> = { kind: 'local' } | { kind: 'link'; link: L } | { kind: 'none'; suffix: string };

/**
 * The routing decision for one recipient: an agency of this hub's directory is delivered here;
 * otherwise the link serving its organ id takes it; otherwise nobody can (`suffix` names the
 * level-1 code no link serves, for the bounce).
 */
export function routeRecipient<L extends LinkRoute>(organId: string, isLocal: boolean, links: readonly L[]): RecipientRoute<L> {
  if (isLocal) return { kind: 'local' };
  const link = linkFor(organId, links);
  if (link) return { kind: 'link', link };
  return { kind: 'none', suffix: organId.slice(organId.lastIndexOf('.') + 1) };
}
