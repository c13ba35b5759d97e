/**
 * A relaying hub records its hop as a TraceHeader appended after the existing ones, without
 * re-signing the agency's packet (the verifier accepts TraceHeaders appended after the
 * sender's own as unsigned hops). Nothing else in the document is touched, and no whitespace
 * is added, so removing the hop restores exactly the signed content.
 */
import { edxmlChildren, locateSkeleton } from './parse.js';
import { EDXML_NS, type TraceHeader } from './types.js';

/** Appends the hop in place; false when the packet has no TraceHeader to append after. */
export function appendTraceHeader(doc: Document, hop: TraceHeader): boolean {
  const skeleton = locateSkeleton(doc);
  const list = skeleton.traceHeaderList;
  if (!list) return false;
  const existing = edxmlChildren(list, 'TraceHeader');
  const last = existing[existing.length - 1];
  if (!last) return false;
  const prefix = last.prefix ? `${last.prefix}:` : '';
  const element = (name: string): Element => doc.createElementNS(EDXML_NS, `${prefix}${name}`);
  const header = element('TraceHeader');
  const organ = element('OrganId');
  organ.appendChild(doc.createTextNode(hop.organId));
  const timestamp = element('Timestamp');
  timestamp.appendChild(doc.createTextNode(hop.timestamp));
  header.appendChild(organ);
  header.appendChild(timestamp);
  list.insertBefore(header, last.nextSibling);
  return true;
}
