/**
 * xmldsigjs, which lienthong no longer uses, wired for the tests that still do: as the
 * reference canonicaliser (c14n-reference.ts), as a third-party signer (crypto-xmlsec1) and
 * as a third-party verifier. It needs the DOM implementation lienthong parses with, and Node's
 * webcrypto.
 */
import { webcrypto } from 'node:crypto';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { setNodeDependencies } from 'xml-core';
import { Application, SignedXml } from 'xmldsigjs';
import xpath from 'xpath';
import { parseXml } from '../../src/envelope/xml.js';

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';

let wired = false;

export function useXmldsigjs(): void {
  if (wired) return;
  setNodeDependencies({ DOMParser, XMLSerializer, xpath });
  Application.setEngine('NodeJS', webcrypto as unknown as Crypto);
  wired = true;
}

export function signatureOf(doc: Document): Element {
  const signature = doc.getElementsByTagNameNS(DSIG, 'Signature')[0];
  if (!signature) throw new Error('no ds:Signature');
  return signature;
}

/**
 * xmldsigjs's verification, digest and signature value, with the certificate of KeyInfo. Its
 * enveloped-signature transform removes only a Signature that is a child of the root, and
 * edXML's sits in edXMLHeader: the transform is done here, by giving it the root without the
 * Signature, which is what the Reference is over.
 */
export async function xmldsigjsVerifies(xml: string): Promise<boolean> {
  useXmldsigjs();
  const doc = parseXml(xml);
  const signature = signatureOf(doc);
  const signed = new SignedXml(doc);
  signed.LoadXml(signature);
  signature.parentNode?.removeChild(signature);
  return signed.Verify({ content: doc.documentElement as Element });
}
