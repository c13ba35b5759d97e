/**
 * Damaged edXML packets for the refusal tests: one element of a valid packet dropped, emptied or
 * duplicated, and which of those damages schemas/edxml.xsd itself forbids (libxml2's xmllint
 * judges, so the test does not depend on lienthong's own reading of the schema).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOMParser } from '@xmldom/xmldom';
import { parseXml, serializeXml } from '../../src/envelope/xml.js';

export const XSD = fileURLToPath(new URL('../../schemas/edxml.xsd', import.meta.url));
const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

export type Damage = 'drop' | 'empty' | 'duplicate';

export interface Variant {
  /** Which element, in document order outside the signature. */
  index: number;
  /** e.g. "edXMLEnvelope/edXMLHeader/MessageHeader/Code/CodeNumber" */
  path: string;
  /** The element's local name. */
  name: string;
  damage: Damage;
  xml: string;
}

/** The elements a damage is tried on, in document order: all but the signature and what is inside it. */
function fields(doc: Document): Element[] {
  const out: Element[] = [];
  const walk = (el: Element): void => {
    for (let node = el.firstChild; node; node = node.nextSibling) {
      if (node.nodeType !== 1) continue;
      const child = node as Element;
      if (child.localName === 'Signature' || child.namespaceURI === DSIG_NS) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(doc.documentElement as Element);
  return out;
}

function pathOf(el: Element): string {
  const names: string[] = [];
  for (let node: Node | null = el; node && node.nodeType === 1 && node.parentNode?.nodeType === 1; node = node.parentNode) names.unshift((node as Element).localName as string);
  return names.join('/');
}

/** A packet read once, whose elements (outside the signature) can be damaged one at a time. */
export class Damageable {
  private readonly base: Document;
  readonly count: number;

  constructor(readonly xml: string) {
    this.base = parseXml(xml);
    this.count = fields(this.base).length;
  }

  /** The packet with its `index`-th element (document order) dropped, emptied or duplicated. */
  at(index: number, how: Damage): Variant {
    // A fresh tree per variant: each carries exactly one damage.
    const doc = this.base.cloneNode(true) as Document;
    const el = fields(doc)[index] as Element;
    const parent = el.parentNode as Node;
    const path = pathOf(el);
    if (how === 'drop') parent.removeChild(el);
    else if (how === 'empty') while (el.firstChild) el.removeChild(el.firstChild);
    else parent.insertBefore(el.cloneNode(true), el.nextSibling);
    return { index, path, name: el.localName as string, damage: how, xml: serializeXml(doc) };
  }

  /** The first element at `path`, damaged (the integration tests' chosen cases). */
  atPath(path: string, how: Damage): Variant {
    const index = fields(this.base).findIndex((el) => pathOf(el) === path);
    if (index === -1) throw new Error(`no element ${path} in the packet`);
    return this.at(index, how);
  }
}

/** For each document, whether schemas/edxml.xsd accepts it: one xmllint run for them all. */
export function schemaAccepts(documents: readonly string[]): boolean[] {
  const dir = mkdtempSync(join(tmpdir(), 'lt-fuzz-'));
  try {
    const files = documents.map((xml, i) => {
      const file = join(dir, `${i}.xml`);
      writeFileSync(file, xml);
      return file;
    });
    const run = spawnSync('xmllint', ['--noout', '--schema', XSD, ...files], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (run.error) throw run.error;
    const verdicts = new Map<string, boolean>();
    for (const line of run.stderr.split('\n')) {
      const m = /^(.*\.xml) (validates|fails to validate)$/.exec(line);
      if (m) verdicts.set(m[1] as string, m[2] === 'validates');
    }
    return files.map((file) => {
      const verdict = verdicts.get(file);
      if (verdict === undefined) throw new Error(`xmllint said nothing about ${file}: ${run.stderr.slice(0, 2000)}`);
      return verdict;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Names of the elements the XSD declares required (no minOccurs="0"), outside optional choices. */
export function requiredElementNames(xsd: string): Set<string> {
  // The schema is ours and comment-heavy: read without the limits for untrusted packets.
  const doc = new DOMParser().parseFromString(xsd, 'text/xml') as unknown as Document;
  const names = new Set<string>();
  const elements = doc.getElementsByTagNameNS('http://www.w3.org/2001/XMLSchema', 'element');
  for (let i = 0; i < elements.length; i += 1) {
    const el = elements.item(i) as Element;
    const name = el.getAttribute('name');
    if (!name || el.getAttribute('minOccurs') === '0') continue;
    if (optionalAncestor(el)) continue;
    names.add(name);
  }
  return names;
}

/** Inside a choice or sequence that is itself optional (e.g. TraceHeaderList's content). */
function optionalAncestor(el: Element): boolean {
  for (let node = el.parentNode as Element | null; node && node.localName !== 'complexType' && node.localName !== 'group'; node = node.parentNode as Element | null) {
    if ((node.localName === 'choice' || node.localName === 'sequence') && node.getAttribute('minOccurs') === '0') return true;
  }
  return false;
}
