/**
 * Packet model → edXML text, in the shape real peers send: `<edXML>` declares the namespace as
 * default, everything under `edXMLEnvelope` carries the `edXML:` prefix, attachments follow the
 * envelope in `AttachmentEncoded`. The output is unsigned; `crypto/sign` signs it.
 */
import { escapeAttribute, escapeText } from './xml.js';
import {
  ATTACHMENT_FIELDS,
  DOCUMENT_HEADER_FIELDS,
  MANIFEST_FIELDS,
  STATUS_HEADER_FIELDS,
  STATUS_TRACE_LIST_FIELDS,
  TRACE_LIST_FIELDS,
  TRACE_LIST_FIELDS_BUSSINESS_FIRST,
  type FieldSpec,
} from './schema.js';
import { EDXML_NS, EDXML_PREFIX, type DocumentPacket, type Packet, type StatusPacket } from './types.js';

type Plain = Record<string, unknown>;

/** Text, or bytes written as their base64 (an attachment's content). */
type Piece = string | Uint8Array;

class XmlWriter {
  constructor(
    private readonly prefix: string,
    private readonly parts: Piece[] = [],
  ) {}

  open(name: string, depth: number, attributes = ''): void {
    this.parts.push(`${indent(depth)}<${this.q(name)}${attributes}>\n`);
  }

  close(name: string, depth: number): void {
    this.parts.push(`${indent(depth)}</${this.q(name)}>\n`);
  }

  leaf(name: string, value: string, depth: number): void {
    this.parts.push(
      value === '' ? `${indent(depth)}<${this.q(name)}/>\n` : `${indent(depth)}<${this.q(name)}>${escapeText(value)}</${this.q(name)}>\n`,
    );
  }

  raw(text: string): void {
    this.parts.push(text);
  }

  base64(bytes: Uint8Array): void {
    this.parts.push(bytes);
  }

  fields(specs: readonly FieldSpec[], value: Plain, depth: number): void {
    for (const spec of specs) {
      const v = value[spec.key];
      if (v === undefined) continue;
      switch (spec.kind) {
        case 'text':
          this.leaf(spec.xml, String(v), depth);
          break;
        case 'texts':
          for (const item of v as unknown[]) this.leaf(spec.xml, String(item), depth);
          break;
        case 'struct':
          this.struct(spec.xml, spec.fields, v as Plain, depth);
          break;
        case 'structs':
          for (const item of v as Plain[]) this.struct(spec.xml, spec.fields, item, depth);
          break;
        case 'textList':
          this.open(spec.xml, depth);
          for (const item of v as unknown[]) this.leaf(spec.item, String(item), depth + 1);
          this.close(spec.xml, depth);
          break;
        case 'structList':
          this.open(spec.xml, depth);
          for (const item of v as Plain[]) this.struct(spec.item, spec.fields, item, depth + 1);
          this.close(spec.xml, depth);
          break;
        case 'attribute':
          // On the start tag, which `struct` wrote before the children.
          break;
      }
    }
  }

  struct(name: string, specs: readonly FieldSpec[], value: Plain, depth: number): void {
    this.open(name, depth, attributesOf(specs, value));
    this.fields(specs, value, depth + 1);
    this.close(name, depth);
  }

  /** A writer appending to the same output with another element prefix. */
  withPrefix(prefix: string): XmlWriter {
    return new XmlWriter(prefix, this.parts);
  }

  get pieces(): readonly Piece[] {
    return this.parts;
  }

  private q(name: string): string {
    return this.prefix ? `${this.prefix}:${name}` : name;
  }
}

function indent(depth: number): string {
  return '  '.repeat(depth);
}

function attributesOf(specs: readonly FieldSpec[], value: Plain): string {
  let out = '';
  for (const spec of specs) {
    const v = value[spec.key];
    if (spec.kind === 'attribute' && v !== undefined) out += ` ${spec.xml}="${escapeAttribute(String(v))}"`;
  }
  return out;
}

/** Serialise a packet. Pure: the same packet always gives the same text. */
export function buildPacket(packet: Packet): string {
  return piecesOf(packet)
    .map((piece) => (typeof piece === 'string' ? piece : bufferOf(piece).toString('base64')))
    .join('');
}

/** Bytes of base64 encoded at a time: a multiple of 3, so that no padding falls inside. */
const ENCODED_BYTES = 3 * 256 * 1024;

/**
 * The UTF-8 bytes of `buildPacket(packet)`, written piece by piece into one buffer that owns its
 * memory (it can move to a crypto worker). The text would hold the packet twice over: a header
 * with one Vietnamese letter makes the whole joined text two-byte, 200 MB for a 100 MB packet,
 * besides each attachment's base64 as a string of its own; here an attachment is encoded a
 * slice at a time, straight into the output.
 */
export function buildPacketBytes(packet: Packet): Buffer {
  const pieces = piecesOf(packet);
  let total = 0;
  for (const piece of pieces) total += typeof piece === 'string' ? Buffer.byteLength(piece, 'utf8') : Math.ceil(piece.byteLength / 3) * 4;
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      at += out.write(piece, at, 'utf8');
      continue;
    }
    const bytes = bufferOf(piece);
    for (let from = 0; from < bytes.byteLength; from += ENCODED_BYTES) {
      at += out.write(bytes.toString('base64', from, Math.min(bytes.byteLength, from + ENCODED_BYTES)), at, 'latin1');
    }
  }
  return out;
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function piecesOf(packet: Packet): readonly Piece[] {
  const root = new XmlWriter('');
  root.raw('<?xml version="1.0" encoding="UTF-8"?>\n');
  root.open('edXML', 0, ` xmlns="${EDXML_NS}"`);
  const w = root.withPrefix(EDXML_PREFIX);
  w.open('edXMLEnvelope', 1, ` xmlns:${EDXML_PREFIX}="${EDXML_NS}"`);
  w.open('edXMLHeader', 2);
  if (packet.kind === 'document') {
    writeDocumentHeader(w, packet);
  } else {
    writeStatusHeader(w, packet);
  }
  w.close('edXMLHeader', 2);
  if (packet.kind === 'document') {
    w.open('edXMLBody', 2);
    if (packet.manifest !== undefined) {
      w.open('edXMLManifest', 3, ' version="1.0"');
      for (const ref of packet.manifest) w.struct('Reference', MANIFEST_FIELDS, ref as unknown as Plain, 4);
      w.close('edXMLManifest', 3);
    }
    w.close('edXMLBody', 2);
  }
  w.close('edXMLEnvelope', 1);
  if (packet.kind === 'document' && packet.attachments !== undefined) {
    root.open('AttachmentEncoded', 1);
    for (const attachment of packet.attachments) {
      root.open('Attachment', 2);
      root.fields(ATTACHMENT_FIELDS, attachment as unknown as Plain, 3);
      root.raw(`${indent(3)}<${EDXML_PREFIX}:ContentTransferEncoded xmlns:${EDXML_PREFIX}="${escapeAttribute(EDXML_NS)}">`);
      root.base64(attachment.content);
      root.raw(`</${EDXML_PREFIX}:ContentTransferEncoded>\n`);
      root.close('Attachment', 2);
    }
    root.close('AttachmentEncoded', 1);
  }
  root.close('edXML', 0);
  return root.pieces;
}

function writeDocumentHeader(w: XmlWriter, packet: DocumentPacket): void {
  w.struct('MessageHeader', DOCUMENT_HEADER_FIELDS, packet as unknown as Plain, 3);
  w.struct('TraceHeaderList', packet.bussinessFirst ? TRACE_LIST_FIELDS_BUSSINESS_FIRST : TRACE_LIST_FIELDS, packet as unknown as Plain, 3);
}

function writeStatusHeader(w: XmlWriter, packet: StatusPacket): void {
  w.struct('MessageHeader', STATUS_HEADER_FIELDS, packet as unknown as Plain, 3);
  if (packet.traceHeaders !== undefined) {
    w.struct('TraceHeaderList', STATUS_TRACE_LIST_FIELDS, packet as unknown as Plain, 3);
  }
}
