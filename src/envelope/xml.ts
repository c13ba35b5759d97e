/**
 * The one XML parser configuration of lienthong, and the one XML writer.
 *
 * Hostile input is stopped by a linear pre-scan before any tree is built: size, nesting depth,
 * a parsing budget (every node, and the bytes of content no edXML field needs: comments,
 * processing instructions, CDATA, whitespace between elements), DOCTYPE (and so internal
 * entities, billion laughs, external entities/XXE) and undeclared entity references. Only then
 * does @xmldom/xmldom parse (parseXml: the DOM signing changes), or, for a tree that is only
 * read, the fast reader of fast-xml.ts with xmldom behind it (readXml).
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Xmldom from '@xmldom/xmldom';
import { LtError } from '../errors.js';
import { FastDocument, readFastXml } from './fast-xml.js';
import { HOISTED_TEXT_MIN, hasControlCharacter, hoistTexts, restoreTexts, utf16Offset, type HoistedText } from './hoist.js';
import type { XmlDocument } from './xml-tree.js';

/**
 * xmldom, loaded the first time a document needs it: verification reads most packets with the
 * fast reader alone, and loading xmldom (its grammar compiles dozens of Unicode patterns) cost
 * `lienthong verify` some 40 ms of its start.
 */
let xmldom: typeof Xmldom | undefined;
function loadXmldom(): typeof Xmldom {
  xmldom ??= createRequire(import.meta.url)('@xmldom/xmldom') as typeof Xmldom;
  return xmldom;
}

export interface XmlLimits {
  /** Largest accepted input in bytes. Default 32 MiB. */
  maxBytes: number;
  /** Deepest accepted element nesting. Default 64 (edXML needs 7). */
  maxDepth: number;
  /**
   * Most nodes accepted in one document: elements, attributes (namespace declarations
   * included), text nodes, comments, processing instructions and CDATA sections. Each is a DOM
   * node with its own cost in the parser and in canonicalisation: a single element with
   * millions of attributes costs seconds and a gigabyte. Default 100 000 (a real packet has a
   * few hundred).
   */
  maxNodes: number;
  /**
   * Most comments and processing instructions (the XML declaration aside). Canonicalisation
   * drops comments, so a signed packet stays valid however many are added: 400 000 empty ones
   * cost xmldom 4 s. edXML needs none. Default 256.
   */
  maxCommentNodes: number;
  /** Bytes of all comments and processing instructions together. Default 8 KiB. */
  maxCommentBytes: number;
  /**
   * Bytes inside all CDATA sections together. xmldom takes 0.4 s per MiB of CDATA and overflows
   * its stack on a few tens of MiB; edXML text fields are short, attachments are base64 text,
   * never CDATA. Default 256 KiB.
   */
  maxCdataBytes: number;
  /**
   * Bytes of whitespace-only text between tags (indentation). A pretty-printed packet needs a
   * few KiB; the rest is padding. Default 2 MiB.
   */
  maxWhitespaceBytes: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxBytes: 32 * 1024 * 1024,
  maxDepth: 64,
  maxNodes: 100_000,
  maxCommentNodes: 256,
  maxCommentBytes: 8 * 1024,
  maxCdataBytes: 256 * 1024,
  maxWhitespaceBytes: 2 * 1024 * 1024,
};

/**
 * The limits for packets of up to `maxBytes` (a node's maxPacketBytes, a command's
 * --max-packet-bytes). Only what a larger legitimate packet can carry more of grows with it,
 * in proportion: indentation between its elements. Attachments are one text node each, so the
 * node count does not grow; comments and CDATA have no place in edXML at any size.
 */
export function xmlLimitsFor(maxBytes: number): XmlLimits {
  const scale = Math.max(1, maxBytes / DEFAULT_XML_LIMITS.maxBytes);
  return { ...DEFAULT_XML_LIMITS, maxBytes, maxWhitespaceBytes: Math.ceil(DEFAULT_XML_LIMITS.maxWhitespaceBytes * scale) };
}

const PREDEFINED_ENTITIES = new Set(['lt', 'gt', 'amp', 'quot', 'apos']);
/** Characters XML 1.0 forbids in a document (NUL is refused earlier, as an encoding problem). */
// eslint-disable-next-line no-control-regex
const ILLEGAL_INPUT_CHAR = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
/**
 * How much of the start is read for the encoding declaration. A real declaration is under 100
 * bytes; a bound keeps a hostile "<?xml " followed by megabytes without a "?" from being decoded
 * just to look for it (such an input is refused by the scan anyway).
 */
const DECLARATION_HEAD_BYTES = 64 * 1024;

/** Bytes (or an already decoded string) to text, refusing what is not UTF-8. */
export function decodeXml(input: Uint8Array | string, limits: XmlLimits = DEFAULT_XML_LIMITS): string {
  if (typeof input === 'string') return admitString(input, limits);
  const { bytes, start } = admitBytes(input, limits);
  return bytes.toString('utf8', start);
}

/**
 * The checks that need no decoding: size, byte-order mark, UTF-8 validity, NUL, declared
 * encoding. Returns the bytes as a Buffer view (no copy) and where the text starts, past the BOM.
 */
function admitBytes(input: Uint8Array, limits: XmlLimits): { bytes: Buffer; start: number } {
  refuseSize(input.byteLength, limits);
  if (input[0] === 0xfe && input[1] === 0xff) throw utf16();
  if (input[0] === 0xff && input[1] === 0xfe) throw utf16();
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (!isUtf8(bytes)) throw new LtError('XML_ENCODING', 'XML input is not valid UTF-8; re-save the file as UTF-8');
  // Two BOMs are skipped, as before reading bytes directly: the decoder took one, the text check the next.
  let start = 0;
  if (hasBom(bytes, start)) start += 3;
  if (hasBom(bytes, start)) start += 3;
  if (bytes.indexOf(0, start) !== -1) throw nul();
  if (startsWith(bytes, XML_DECL, start)) refuseDeclaredEncoding(bytes.toString('utf8', start, declarationHeadEnd(bytes, start)));
  return { bytes, start };
}

const QUESTION_MARK = 0x3f;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;

/**
 * Where the head refuseDeclaredEncoding reads may end without changing what it finds: its
 * pattern allows no "?" before the quote that opens the encoding value, so its match ends at
 * the latest on the first quote after the first "?" past "<?". These are ASCII bytes, never
 * inside a UTF-8 sequence, so they are found in the bytes. Decoding the whole 64 KB head cost
 * a second decoding of a small packet and 70 µs of a 100 KB one.
 */
function declarationHeadEnd(bytes: Buffer, start: number): number {
  const limit = Math.min(bytes.length, start + DECLARATION_HEAD_BYTES);
  const question = bytes.subarray(0, limit).indexOf(QUESTION_MARK, start + 2);
  if (question === -1) return limit;
  for (let at = question; at < limit; at++) {
    if (bytes[at] === QUOTE || bytes[at] === APOSTROPHE) return at + 1;
  }
  return limit;
}

function admitString(input: string, limits: XmlLimits): string {
  refuseSize(Buffer.byteLength(input, 'utf8'), limits);
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (text.includes('\u0000')) throw nul();
  refuseDeclaredEncoding(text.slice(0, DECLARATION_HEAD_BYTES));
  return text;
}

function refuseSize(size: number, limits: XmlLimits): void {
  if (size > limits.maxBytes) {
    const [is, limit] = formatSizes(size, limits.maxBytes);
    throw new LtError(
      'XML_TOO_LARGE',
      `XML input is ${is}, over the limit of ${limit}; ` +
        'send large attachments separately or raise the configured limit',
    );
  }
}

function refuseDeclaredEncoding(head: string): void {
  const declared = /^<\?xml\s[^?]*encoding\s*=\s*["']([^"']+)["']/.exec(head)?.[1];
  if (declared !== undefined && !/^utf-?8$/i.test(declared)) {
    throw new LtError('XML_ENCODING', `XML declares encoding "${declared}"; only UTF-8 is accepted`);
  }
}

function refuseIllegalCharacters(text: string, originalOffset: (at: number) => number = (at) => at): void {
  const illegal = ILLEGAL_INPUT_CHAR.exec(text);
  if (illegal) {
    throw new LtError('XML_MALFORMED', `XML input contains the character U+${illegal[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at offset ${originalOffset(illegal.index)}, which XML does not allow`);
  }
}

const hasBom = (bytes: Buffer, at: number): boolean => bytes[at] === 0xef && bytes[at + 1] === 0xbb && bytes[at + 2] === 0xbf;

function utf16(): LtError {
  return new LtError('XML_ENCODING', 'XML input is UTF-16; only UTF-8 is accepted');
}

function nul(): LtError {
  return new LtError('XML_ENCODING', 'XML input contains NUL characters (UTF-16 or UTF-32 without a byte-order mark, or binary data); only UTF-8 is accepted');
}

/**
 * The pre-scan of a string: encoded once, then the same byte scan `parseXml` runs on bytes.
 * Refuses what a DOM must never see (see `scanMarkup`) and characters XML does not allow.
 */
export function preScanXml(text: string, limits: XmlLimits = DEFAULT_XML_LIMITS): void {
  scanMarkup(Buffer.from(text, 'utf8'), 0, limits);
  refuseIllegalCharacters(text);
}

const XML_DECL = Buffer.from('<?xml');
const COMMENT_END = Buffer.from('-->');
const CDATA_END = Buffer.from(']]>');
const PI_END = Buffer.from('?>');
const COMMENT_START = Buffer.from('<!--');
const CDATA_START = Buffer.from('<![CDATA[');
const ENTITY_START = Buffer.from('<!ENTITY');
const DOCTYPE = Buffer.from('<!DOCTYPE');
const GT = Buffer.from('>');

/**
 * Linear scan of UTF-8 bytes that refuses what a DOM must never see. It does not check
 * well-formedness (the parser does); it only guarantees the parser will not be asked to do
 * something dangerous or unbounded: every node the parser would build, and every byte of content
 * that is not element text, is counted against `limits` before a single node exists. It reads
 * bytes, not text, so that a bomb is refused before it is decoded: 30 MiB of Vietnamese comments
 * would be a 60 MiB string. All markup is ASCII, and in UTF-8 no byte of a multi-byte character
 * is ASCII, so markup is found byte by byte. Offsets in messages are counted in characters of the
 * decoded text (UTF-16 units), as the text the parser sees.
 */
function scanMarkup(bytes: Buffer, start: number, limits: XmlLimits, largeTexts?: number[]): void {
  const budget = new ParsingBudget(bytes, limits);
  const offset = (at: number): number => utf16Offset(bytes, start, at);
  let depth = 0;
  let i = start;
  const n = bytes.length;
  // The next "&" at or after the scan position, remembered so that segments without one cost
  // nothing: searching from every segment to the next "&" would be quadratic.
  let nextAmp = bytes.indexOf(0x26, start);
  const entitiesIn = (from: number, to: number): void => {
    if (nextAmp !== -1 && nextAmp < from) nextAmp = bytes.indexOf(0x26, from);
    if (nextAmp !== -1 && nextAmp < to) checkEntities(bytes, nextAmp, to, offset);
  };
  while (i < n) {
    const lt = indexOfByte(bytes, 0x3c, i);
    const segmentEnd = lt === -1 ? n : lt;
    if (segmentEnd > i) budget.text(i, segmentEnd);
    if (largeTexts && depth > 0 && segmentEnd - i >= HOISTED_TEXT_MIN) largeTexts.push(i, segmentEnd);
    entitiesIn(i, segmentEnd);
    if (lt === -1) break;
    const next = bytes[lt + 1];
    if (next === 0x21 /* ! */) {
      if (startsWith(bytes, COMMENT_START, lt)) {
        i = skipTo(bytes, COMMENT_END, lt + 4);
        budget.comment(lt, i);
      } else if (startsWith(bytes, CDATA_START, lt)) {
        i = skipTo(bytes, CDATA_END, lt + 9);
        budget.cdata(lt + 9, i - 3);
      } else if (startsWithIgnoringAsciiCase(bytes, DOCTYPE, lt)) {
        throw new LtError('XML_DOCTYPE', 'XML input contains a DOCTYPE declaration; remove it (edXML packets never need one)');
      } else if (startsWith(bytes, ENTITY_START, lt)) {
        throw new LtError('XML_ENTITY', 'XML input declares an entity; entity declarations are not allowed');
      } else {
        throw new LtError('XML_MALFORMED', `XML input has a markup declaration at offset ${offset(lt)}; only elements, comments and CDATA are allowed`);
      }
    } else if (next === 0x3f /* ? */) {
      i = skipTo(bytes, PI_END, lt + 2);
      // The declaration is a node to xmldom but no processing instruction of the author's; a PI
      // named "xml-stylesheet" (or anything after the start) is one.
      if (lt === start && startsWith(bytes, XML_DECL, lt) && isSpaceAt(bytes, lt + 5)) budget.nodes(1);
      else budget.comment(lt, i);
    } else if (next === 0x2f /* / */) {
      depth -= 1;
      // Past the end tag's ">": what follows it is the next text node, the name is not text.
      i = skipTo(bytes, GT, lt + 2);
    } else {
      const end = endOfTag(bytes, lt + 1, offset);
      entitiesIn(lt, end);
      budget.nodes(1 + countAttributes(bytes, lt, end));
      if (bytes[end - 1] !== 0x2f /* self-closing */) {
        depth += 1;
        if (depth > limits.maxDepth) {
          throw new LtError('XML_TOO_DEEP', `XML input nests elements deeper than ${limits.maxDepth} levels`);
        }
      }
      i = end + 1;
    }
  }
}


/** What the pre-scan has counted so far, refused the moment one limit is passed. */
class ParsingBudget {
  private nodeCount = 0;
  private commentCount = 0;
  private commentBytes = 0;
  private cdataBytes = 0;
  private whitespaceBytes = 0;

  constructor(
    private readonly source: Buffer,
    private readonly limits: XmlLimits,
  ) {}

  nodes(count: number): void {
    this.nodeCount += count;
    if (this.nodeCount > this.limits.maxNodes) {
      throw new LtError('XML_TOO_MANY_NODES', `XML input has more than ${this.limits.maxNodes} nodes (elements, attributes, text, comments, CDATA)`);
    }
  }

  /** A text node source[from..to]; only whitespace-only text is budgeted by its size. */
  text(from: number, to: number): void {
    this.nodes(1);
    if (!isWhitespaceOnly(this.source, from, to)) return;
    this.whitespaceBytes += to - from;
    if (this.whitespaceBytes > this.limits.maxWhitespaceBytes) {
      throw new LtError(
        'XML_WHITESPACE_TOO_LARGE',
        `XML input has more than ${formatBytes(this.limits.maxWhitespaceBytes)} of whitespace between elements; send it without padding (indentation needs a few KiB)`,
      );
    }
  }

  /** A comment or processing instruction source[from..to], delimiters included. */
  comment(from: number, to: number): void {
    this.nodes(1);
    this.commentCount += 1;
    if (this.commentCount > this.limits.maxCommentNodes) {
      throw new LtError(
        'XML_TOO_MANY_COMMENTS',
        `XML input has more than ${this.limits.maxCommentNodes} comments and processing instructions; edXML needs none, remove them`,
      );
    }
    this.commentBytes += to - from;
    if (this.commentBytes > this.limits.maxCommentBytes) {
      throw new LtError(
        'XML_COMMENTS_TOO_LARGE',
        `XML input has more than ${formatBytes(this.limits.maxCommentBytes)} of comments and processing instructions; edXML needs none, remove them`,
      );
    }
  }

  /** The content source[from..to] of a CDATA section. */
  cdata(from: number, to: number): void {
    this.nodes(1);
    this.cdataBytes += to - from;
    if (this.cdataBytes > this.limits.maxCdataBytes) {
      throw new LtError(
        'XML_CDATA_TOO_LARGE',
        `XML input has more than ${formatBytes(this.limits.maxCdataBytes)} inside CDATA sections; escape the text instead, and send files as base64 attachments`,
      );
    }
  }
}


function startsWith(bytes: Buffer, prefix: Buffer, at: number): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let j = 0; j < prefix.length; j++) if (bytes[at + j] !== prefix[j]) return false;
  return true;
}

/** `prefix` is upper-case ASCII: lower-case letters are matched by clearing their 0x20 bit. */
function startsWithIgnoringAsciiCase(bytes: Buffer, prefix: Buffer, at: number): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let j = 0; j < prefix.length; j++) {
    const b = bytes[at + j] as number;
    const p = prefix[j] as number;
    if (b !== p && !(p >= 0x41 && p <= 0x5a && b === (p | 0x20))) return false;
  }
  return true;
}

/** Whether the character at `at` is JavaScript whitespace (`\s`), as the declaration is recognised by. */
function isSpaceAt(bytes: Buffer, at: number): boolean {
  const b = bytes[at];
  if (b === undefined) return false;
  if (b < 0x80) return b === 0x20 || (b >= 0x09 && b <= 0x0d);
  return /^\s/.test(bytes.toString('utf8', at, Math.min(bytes.length, at + 4)));
}

function isWhitespaceOnly(bytes: Buffer, from: number, to: number): boolean {
  for (let j = from; j < to; j++) {
    const c = bytes[j];
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

function skipTo(bytes: Buffer, terminator: Buffer, from: number): number {
  const at = terminator.length === 1 ? indexOfByte(bytes, terminator[0] as number, from) : bytes.indexOf(terminator, from);
  if (at === -1) throw new LtError('XML_MALFORMED', `XML input ends inside a construct that needs "${terminator.toString('latin1')}"`);
  return at + terminator.length;
}

/**
 * bytes.indexOf(byte, from), looked for by hand over the first bytes: a packet's markup is
 * hundreds of short segments, and the native call costs more than reading a few dozen bytes
 * (a fifth of the pre-scan of a 5 KB packet); a long one (an attachment) is left to it.
 */
function indexOfByte(bytes: Buffer, byte: number, from: number): number {
  const near = Math.min(bytes.length, from + NEAR_BYTES);
  for (let j = from; j < near; j++) if (bytes[j] === byte) return j;
  return near === bytes.length ? -1 : bytes.indexOf(byte, near);
}

const NEAR_BYTES = 64;

/** Index of the `>` that closes the start tag beginning at `from`, quotes respected. */
function endOfTag(bytes: Buffer, from: number, offset: (at: number) => number): number {
  let quote = 0;
  for (let j = from; j < bytes.length; j++) {
    const c = bytes[j];
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) {
      quote = c;
    } else if (c === 0x3e) {
      return j;
    } else if (c === 0x3c) {
      break;
    }
  }
  throw new LtError('XML_MALFORMED', `XML input has an unterminated tag at offset ${offset(from - 1)}`);
}

/** Attributes of the start tag bytes[from..to]: the "=" outside quoted values. */
function countAttributes(bytes: Buffer, from: number, to: number): number {
  let count = 0;
  let quote = 0;
  for (let j = from; j < to; j++) {
    const c = bytes[j];
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) {
      quote = c;
    } else if (c === 0x3d /* = */) {
      count += 1;
    }
  }
  return count;
}

/**
 * A reference's name is at most 11 characters (UTF-16 units) before its ";". A UTF-8 byte is at
 * least a third of a unit, so a ";" more than 36 bytes on is past that without decoding anything.
 */
const MAX_REFERENCE_BYTES = 36;

function checkEntities(bytes: Buffer, from: number, to: number, offset: (at: number) => number): void {
  let amp = bytes.indexOf(0x26, from);
  while (amp !== -1 && amp < to) {
    const semi = bytes.indexOf(0x3b, amp);
    const decoded = semi === -1 || semi - amp > MAX_REFERENCE_BYTES ? '' : bytes.toString('utf8', amp + 1, semi);
    const name = decoded.length + 1 > 12 ? '' : decoded;
    if (!PREDEFINED_ENTITIES.has(name) && !/^#(?:[0-9]{1,7}|x[0-9a-fA-F]{1,6})$/.test(name)) {
      throw new LtError('XML_ENTITY', `XML input uses an undeclared entity reference "&${name || '…'}" at offset ${offset(amp)}; escape "&" as "&amp;"`);
    }
    if (name.startsWith('#') && !isXmlChar(name[1] === 'x' ? parseInt(name.slice(2), 16) : Number(name.slice(1)))) {
      throw new LtError('XML_MALFORMED', `XML input has a character reference "&${name};" at offset ${offset(amp)} to a character XML does not allow`);
    }
    amp = bytes.indexOf(0x26, semi);
  }
}

/** The XML 1.0 `Char` production. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** What a DOM is built from: the text, or the text with its large segments set aside. */
type Admitted = { text: string; hoisted?: undefined } | { text: string; hoisted: HoistedText; whole: () => string };

/**
 * Input to text a DOM may be built from. Bytes are scanned before they are decoded: what the
 * budget refuses is never decoded. The characters XML does not allow are looked for in the
 * decoded text of what passed.
 */
function admitXml(input: Uint8Array | string, limits: XmlLimits): Admitted {
  const largeTexts: number[] = [];
  if (typeof input === 'string') {
    // preScanXml's steps, its bytes kept: a signed packet is often verified as the string signing returned.
    const text = admitString(input, limits);
    const bytes = Buffer.from(text, 'utf8');
    scanMarkup(bytes, 0, limits, largeTexts);
    const hoisted = largeTexts.length > 0 ? hoistTexts(bytes, 0, largeTexts, text) : undefined;
    if (hoisted) {
      refuseIllegalCharacters(hoisted.text, hoisted.originalOffset);
      return { text: hoisted.text, hoisted, whole: () => text };
    }
    refuseIllegalCharacters(text);
    return { text };
  }
  const { bytes, start } = admitBytes(input, limits);
  scanMarkup(bytes, start, limits, largeTexts);
  const hoisted = largeTexts.length > 0 ? hoistTexts(bytes, start, largeTexts) : undefined;
  if (hoisted) {
    refuseIllegalCharacters(hoisted.text, hoisted.originalOffset);
    return { text: hoisted.text, hoisted, whole: () => bytes.toString('utf8', start) };
  }
  const text = bytes.toString('utf8', start);
  if (mayHoldIllegalCharacter(bytes, start)) refuseIllegalCharacters(text);
  return { text };
}

/**
 * Whether UTF-8 bytes[start..] may hold a character ILLEGAL_INPUT_CHAR finds: a control
 * character, or U+FFFE or U+FFFF (EF BF BE, EF BF BF). The bytes are read word by word in half
 * the time the regex takes over a Vietnamese packet's two-byte text (5 KB: 1.8 against 3.5 µs);
 * the regex still finds the character and its offset for the message.
 */
function mayHoldIllegalCharacter(bytes: Buffer, start: number): boolean {
  if (hasControlCharacter(bytes, start, bytes.length)) return true;
  for (let at = bytes.indexOf(NONCHARACTER_LEAD, start); at !== -1; at = bytes.indexOf(NONCHARACTER_LEAD, at + 1)) {
    if ((bytes[at + 2] ?? 0) >= 0xbe) return true;
  }
  return false;
}

const NONCHARACTER_LEAD = Buffer.from([0xef, 0xbf]);

export interface ParseOptions {
  /**
   * Nobody reads the input bytes after the parse (a crypto worker's, moved to it for the job):
   * their memory is given back once the document is read, rather than at the job's end. Only
   * bytes that are all of their ArrayBuffer are; they are empty afterwards.
   */
  releaseInput?: boolean;
}

/** Parse untrusted XML into a DOM Document, after the safety pre-scan. */
export function parseXml(input: Uint8Array | string, limits: XmlLimits = DEFAULT_XML_LIMITS, options: ParseOptions = {}): Document {
  const doc = parseAdmitted(input, limits);
  if (options.releaseInput && typeof input !== 'string') releaseBytes(input);
  return doc;
}

/**
 * Detach the ArrayBuffer of `bytes` when they are all of it: its memory moves to a new object
 * nothing refers to, freed by the next minor collection. Left as they are, the bytes of a 100 MB
 * packet stayed until the job's end beside its text, its DOM and what is made of them: their
 * buffer, old by then, waits for a full collection.
 */
export function releaseBytes(bytes: Uint8Array): void {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) structuredClone(buffer, { transfer: [buffer] });
}

export interface ReadXmlOptions extends ParseOptions {
  /**
   * false: xmldom reads the document, as parseXml does; what the tests compare the fast reader
   * with. Default true.
   */
  fast?: boolean;
}

/**
 * Parse untrusted XML into a tree that is only read (verification, packet reading): admitted as
 * parseXml admits it, then read by the fast reader (fast-xml.ts) when it is in its subset, by
 * xmldom otherwise, so a malformed document is refused as parseXml refuses it.
 */
export function readXml(input: Uint8Array | string, limits: XmlLimits = DEFAULT_XML_LIMITS, options: ReadXmlOptions = {}): XmlDocument {
  const admitted = admitXml(input, limits);
  const doc = (options.fast !== false ? readFastXml(admitted.text, admitted.hoisted) : undefined) ?? parseAdmittedText(admitted);
  if (options.releaseInput && typeof input !== 'string') releaseBytes(input);
  return doc;
}

/** A document the fast reader read, with the text its offsets (FastElement.sourceEnd) count in. */
export interface FastRead {
  doc: FastDocument;
  /** The admitted text: the input's, with each large text segment replaced by its mark (hoist.ts). */
  text: string;
  marks: readonly string[];
  /** The segment each mark stands for: ASCII, as long in bytes as in characters. */
  texts: readonly string[];
}

/**
 * Bytes admitted as parseXml admits them (its refusals thrown alike), then read by the fast
 * reader alone: undefined when they are outside its subset. For a caller that needs to know
 * where elements are in the input (signing in place), not only what they hold.
 */
export function readFastXmlSource(input: Uint8Array, limits: XmlLimits = DEFAULT_XML_LIMITS): FastRead | undefined {
  const admitted = admitXml(input, limits);
  const doc = readFastXml(admitted.text, admitted.hoisted);
  if (!(doc instanceof FastDocument)) return undefined;
  return { doc, text: admitted.text, marks: admitted.hoisted?.marks ?? [], texts: admitted.hoisted?.texts ?? [] };
}

function parseAdmitted(input: Uint8Array | string, limits: XmlLimits): Document {
  return parseAdmittedText(admitXml(input, limits));
}

function parseAdmittedText(admitted: Admitted): Document {
  if (!admitted.hoisted) return parseText(admitted.text);
  // Refused or not as the whole text would be; but a message (xmldom quotes text it finds
  // outside the root) must show the text, not a mark, so a refusal is the whole text's own.
  let doc: Document | undefined;
  try {
    doc = parseText(admitted.text);
  } catch {
    doc = undefined;
  }
  if (doc && restoreTexts(doc, admitted.hoisted)) return doc;
  return parseText(admitted.whole());
}

function parseText(text: string): Document {
  const problems: string[] = [];
  const parser = new (loadXmldom().DOMParser)({
    // XML 1.0 line ends (§2.11). xmldom's default applies the XML 1.1 rule, which also turns
    // U+0085, U+2028 and U+2029 into line feeds: text would not read back as it was written,
    // and would differ from what a peer's XML 1.0 parser (and signer) saw.
    // Looked for first: the replace walks a many-megabyte document even when it has no CR.
    normalizeLineEndings: (source: string) => (source.includes('\r') ? source.replace(/\r\n?/g, '\n') : source),
    // Line and column of every node: nothing reads them, and keeping them costs xmldom a regex
    // over the whole text (a third of its parsing time for a 20 MB packet). Its messages name
    // the position only after their first line, which is all that is reported.
    locator: false,
    onError: (level: string, message: string) => {
      if (level !== 'warning') problems.push(message.split('\n')[0] ?? message);
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(text, 'text/xml') as unknown as Document;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new LtError('XML_MALFORMED', `XML input is not well-formed: ${message}`);
  }
  if (problems.length > 0 || !doc.documentElement) {
    throw new LtError('XML_MALFORMED', `XML input is not well-formed: ${problems[0] ?? 'no root element'}`);
  }
  return doc;
}

/**
 * DOM → text. xmldom writes a carriage return in text content raw, which every parser turns
 * into a line feed on reading: a signed "&#13;" would then no longer match its digest. After
 * parsing, a raw CR can only come from such a character reference, so all are re-escaped.
 */
export function serializeXml(node: Node): string {
  return new (loadXmldom().XMLSerializer)().serializeToString(node as never).replace(/\r/g, '&#13;');
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const PROCESSING_INSTRUCTION_NODE = 7;

/**
 * A whole document as lienthong writes it: its own UTF-8 declaration (the parsed one is not
 * copied: only UTF-8 is read or written), then every processing instruction and comment
 * before and after the root, each on a line of its own. They are content: a PI outside the
 * root is signed (XMLDSig URI=""), a comment is not but is the author's. Whitespace between
 * them is not content and is not kept.
 */
export function serializeDocument(doc: Document): string {
  // Concatenated, not joined: join() copies the pieces into one new string at once, `+` does not.
  let text = '';
  for (const piece of serializedPieces(doc)) text += piece;
  return text;
}

/**
 * The UTF-8 bytes of `serializeDocument(doc)`, written a piece at a time into one buffer that
 * owns its memory (it can move to another thread). The text is a concatenation whose markup,
 * with one Vietnamese letter, is two-byte: encoding it flattens it into one two-byte string
 * first, twice the packet, and posting it to another thread copies that twice more.
 */
export function serializeDocumentBytes(doc: Document): Buffer {
  const pieces = serializedPieces(doc);
  // A surrogate pair split between two pieces would be encoded as two replacement characters.
  if (pieces.some((piece) => isHighSurrogate(piece.charCodeAt(piece.length - 1)))) return Buffer.from(serializeDocument(doc), 'utf8');
  let total = 0;
  for (const piece of pieces) total += Buffer.byteLength(piece, 'utf8');
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const piece of pieces) at += out.write(piece, at, 'utf8');
  return out;
}

export function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The document's serialization as pieces to concatenate: the markup, and the large texts spliced in between. */
function serializedPieces(doc: Document): string[] {
  const plain = plainTexts(doc);
  if (plain.length === 0) return [serializeNodes(doc)];
  const texts = plain.map((node) => node.data);
  const marks = plain.map((_, i) => `lienthong-${randomUUID()}-${i}`);
  plain.forEach((node, i) => node.replaceData(0, node.length, marks[i] as string));
  let skeleton: string;
  try {
    skeleton = serializeNodes(doc);
  } finally {
    plain.forEach((node, i) => node.replaceData(0, node.length, texts[i] as string));
  }
  return spliceTexts(skeleton, marks, texts) ?? [serializeNodes(doc)];
}

/**
 * Text nodes the serializer would copy as they are, and large enough that copying them costs:
 * an attachment's base64 above all. They are serialized as short marks, and put back into the
 * text that comes out: the serializer never runs its escaping regexes over megabytes, nor joins
 * them into its buffer, and the carriage-return pass reads only the markup around them.
 */
const PLAIN_TEXT_MIN = 64 * 1024;

function plainTexts(doc: Document): Text[] {
  const out: Text[] = [];
  const visit = (parent: Node): void => {
    for (let n = parent.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === ELEMENT_NODE) visit(n);
      else if (n.nodeType === TEXT_NODE && isPlain((n as Text).data)) out.push(n as Text);
    }
  };
  if (doc.documentElement) visit(doc.documentElement);
  return out;
}

/** What the serializer and its CR pass leave unchanged: xmldom escapes <, & and > in text. */
function isPlain(text: string): boolean {
  return text.length >= PLAIN_TEXT_MIN && !text.includes('<') && !text.includes('&') && !text.includes('>') && !text.includes('\r');
}

/**
 * `skeleton` with each mark replaced by its text, as the pieces to concatenate, or undefined unless every mark occurs exactly
 * once and in order: a text node is serialized as a piece of its own, so a mark found once is
 * its node's, and the result is exactly the serialization of the document as it was.
 */
function spliceTexts(skeleton: string, marks: readonly string[], texts: readonly string[]): string[] | undefined {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < marks.length; i++) {
    const mark = marks[i] as string;
    const at = skeleton.indexOf(mark, from);
    if (at === -1 || skeleton.indexOf(mark) !== at || skeleton.indexOf(mark, at + 1) !== -1) return undefined;
    out.push(skeleton.slice(from, at), texts[i] as string);
    from = at + mark.length;
  }
  out.push(skeleton.slice(from));
  return out;
}

function serializeNodes(doc: Document): string {
  // Concatenated, not joined: join() copies a 30 MB root into a new string at once, `+` does not.
  let text = '<?xml version="1.0" encoding="UTF-8"?>';
  for (let n = doc.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === TEXT_NODE) continue;
    // xmldom keeps the declaration as a PI named "xml", and accepts it nowhere but first.
    if (n.nodeType === PROCESSING_INSTRUCTION_NODE && n.nodeName === 'xml') continue;
    text += `\n${serializeXml(n)}`;
  }
  return `${text}\n`;
}

// --- Writing -------------------------------------------------------------------------------

// Characters XML 1.0 cannot carry at all; they are dropped rather than producing a packet
// every peer would refuse.
// eslint-disable-next-line no-control-regex
const ILLEGAL_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeText(value: string): string {
  return value.replace(ILLEGAL_XML_CHARS, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

export function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/**
 * A size and the limit it passed, exact in bytes when the rounded figures would read the same
 * ("40.0 MiB, over the limit of 40.0 MiB" tells the operator nothing).
 */
export function formatSizes(size: number, limit: number): [string, string] {
  return formatBytes(size) === formatBytes(limit) ? [`${size} bytes`, `${limit} bytes`] : [formatBytes(size), formatBytes(limit)];
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
