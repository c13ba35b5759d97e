/**
 * Large text read past the DOM parser. An attachment is megabytes of base64 between two tags;
 * decoded with the rest of a packet that has one Vietnamese letter it becomes a two-byte string,
 * which every later reader (xmldom's entity regex, the hash's UTF-8 encoder, the base64
 * decoder) then walks at half speed or worse. A segment of ASCII text without "&" or CR reads
 * as exactly its bytes, so it is decoded alone as a one-byte string, the parser is given a
 * unique mark in its place, and the mark's text node is given the segment's text afterwards.
 */
import { isAscii } from 'node:buffer';
import { randomUUID } from 'node:crypto';

/** Below this a segment costs less to parse than to set aside. */
export const HOISTED_TEXT_MIN = 64 * 1024;

const AMP = 0x26;
const CR = 0x0d;
const TEXT_NODE = 3;
const ELEMENT_NODE = 1;

export interface HoistedText {
  /** The document with each segment replaced by its mark. */
  text: string;
  marks: string[];
  texts: string[];
  /** Offset in `text` → offset in the whole document's text, for messages. */
  originalOffset: (at: number) => number;
}

/**
 * The text of bytes[start..] with the segments (pairs of byte offsets, element text found by the
 * pre-scan) that read as their bytes set aside; undefined when none does. A segment with a
 * character XML does not allow stays in place, where the check of the whole text reports it at
 * its offset. `source`, when the input was a string (and `bytes` its UTF-8), gives the text
 * between segments as it was: a lone surrogate would not survive decoding its UTF-8.
 */
export function hoistTexts(bytes: Buffer, start: number, segments: readonly number[], source?: string): HoistedText | undefined {
  const id = randomUUID();
  const marks: string[] = [];
  const texts: string[] = [];
  /** Pairs: offset in `text` after a mark, and how many characters the marks so far saved. */
  const shifts: number[] = [];
  let text = '';
  let from = start;
  let sourceFrom = 0;
  let saved = 0;
  for (let k = 0; k < segments.length; k += 2) {
    const a = segments[k] as number;
    const b = segments[k + 1] as number;
    const span = bytes.subarray(a, b);
    if (span.includes(AMP) || span.includes(CR) || !isAscii(span) || hasControlCharacter(bytes, a, b)) continue;
    const segment = bytes.toString('latin1', a, b);
    const mark = `lienthong-${id}-${marks.length}`;
    if (source === undefined) text += bytes.toString('utf8', from, a) + mark;
    else {
      const length = utf16Offset(bytes, from, a);
      text += source.slice(sourceFrom, sourceFrom + length) + mark;
      sourceFrom += length + segment.length;
    }
    saved += segment.length - mark.length;
    shifts.push(text.length, saved);
    marks.push(mark);
    texts.push(segment);
    from = b;
  }
  if (marks.length === 0) return undefined;
  text += source === undefined ? bytes.toString('utf8', from) : source.slice(sourceFrom);
  const originalOffset = (at: number): number => {
    let shift = 0;
    for (let k = 0; k < shifts.length && (shifts[k] as number) <= at; k += 2) shift = shifts[k + 1] as number;
    return at + shift;
  };
  return { text, marks, texts, originalOffset };
}

/** UTF-16 length of the UTF-8 bytes[from..to]: every byte but continuation bytes, two for a 4-byte sequence. */
export function utf16Offset(bytes: Buffer, from: number, to: number): number {
  let units = 0;
  for (let j = from; j < to; j++) {
    const b = bytes[j] as number;
    if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
  }
  return units;
}

/** A control character XML does not allow: below 0x20, but tab, LF and CR (NUL is refused before). */
const isControl = (c: number): boolean => c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d;

/**
 * Whether bytes[a..b] hold a control character XML does not allow. UTF-8 (what admission
 * passes) hides none in a multi-byte character: every byte of one is 0x80 or above. Read four
 * bytes at a time: the lowest byte below 0x20 in a word sets its bit of
 * (x − 0x20202020) & ~x & 0x80808080 (a borrow comes only from a byte below 0x20), and only
 * then are its bytes looked at. Four times the speed of the character-class regex over the
 * decoded text.
 */
export function hasControlCharacter(bytes: Buffer, a: number, b: number): boolean {
  let i = a;
  while (i < b && (bytes.byteOffset + i) % 4 !== 0) if (isControl(bytes[i++] as number)) return true;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, Math.floor((b - i) / 4));
  for (let w = 0; w < words.length; w++) {
    const x = words[w] as number;
    if (((x - 0x20202020) & ~x & 0x80808080) === 0) continue;
    for (let k = i + 4 * w; k < i + 4 * w + 4; k++) if (isControl(bytes[k] as number)) return true;
  }
  for (let k = i + 4 * words.length; k < b; k++) if (isControl(bytes[k] as number)) return true;
  return false;
}

/**
 * Give each mark's text node its segment's text. False unless every mark is found exactly once,
 * as a whole text node: the caller then parses the whole text instead.
 */
export function restoreTexts(doc: Document, hoisted: HoistedText): boolean {
  const index = new Map(hoisted.marks.map((mark, i) => [mark, i]));
  const found: Array<Text | undefined> = hoisted.marks.map(() => undefined);
  let twice = false;
  const visit = (parent: Node): void => {
    for (let n = parent.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === ELEMENT_NODE) visit(n);
      else if (n.nodeType === TEXT_NODE) {
        const i = index.get((n as Text).data);
        if (i === undefined) continue;
        if (found[i] !== undefined) twice = true;
        found[i] = n as Text;
      }
    }
  };
  if (doc.documentElement) visit(doc.documentElement);
  if (twice || found.includes(undefined)) return false;
  found.forEach((node, i) => node?.replaceData(0, node.length, hoisted.texts[i] as string));
  return true;
}
