/**
 * JSON with comments, as configuration files are written by people: `// ...` to the end of the
 * line and `/* ... *\/` blocks, outside strings. Comments become spaces (newlines kept), so the
 * positions JSON.parse reports still point at the right line and column of the file.
 */
import { LtError } from './errors.js';

export function stripJsonComments(text: string, source = 'the JSON text'): string {
  let out = '';
  let i = 0;
  const blank = (s: string): string => s.replace(/[^\n\r]/g, ' ');
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') {
      // A string to its closing quote; a backslash always takes the next character with it.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      let j = i;
      while (j < text.length && text[j] !== '\n' && text[j] !== '\r') j += 1;
      out += blank(text.slice(i, j));
      i = j;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) {
        const line = text.slice(0, i).split('\n').length;
        throw new LtError('CONFIG_INVALID', `${source}: the comment opened with /* on line ${line} is never closed with */`);
      }
      out += blank(text.slice(i, end + 2));
      i = end + 2;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}
