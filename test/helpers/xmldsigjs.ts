/**
 * xmldsigjs, which lienthong no longer uses, wired for the tests that still do: as the
 * reference canonicaliser (c14n-reference.ts) and as a third-party signer (crypto-xmlsec1).
 * It needs the DOM implementation lienthong parses with, and Node's webcrypto.
 */
import { webcrypto } from 'node:crypto';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { setNodeDependencies } from 'xml-core';
import { Application } from 'xmldsigjs';
import xpath from 'xpath';

let wired = false;

export function useXmldsigjs(): void {
  if (wired) return;
  setNodeDependencies({ DOMParser, XMLSerializer, xpath });
  Application.setEngine('NodeJS', webcrypto as unknown as Crypto);
  wired = true;
}
