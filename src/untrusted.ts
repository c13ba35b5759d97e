/**
 * Text someone else wrote (a header, a field of a refused packet), to be shown or repeated by
 * lienthong: one line, without control or bidirectional-override characters that could fake
 * a line of our own or reorder what a reader sees, and bounded, so that no sender decides how
 * much of our message is theirs.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g;

export function untrustedLine(text: string, max: number): string {
  const line = text.replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim();
  const chars = [...line];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : line;
}
