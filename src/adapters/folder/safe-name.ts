/**
 * File names made from what another agency wrote (a DocumentId, an attachment's name) for the
 * folders the agency's own program reads: one path segment that cannot climb out of its folder
 * nor mean something else on Windows (most agency desktops), where zip.ts refuses such a name,
 * because here the document is already received and must be written somewhere.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069/\\:*?"<>|]/gu;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
/** Bytes of a name: file systems allow 255; room is kept for a "~2" suffix and a temporary name. */
const MAX_BYTES = 200;

/** One safe path segment for `name` (never empty, never "." or "..", never hidden). */
export function safeFileName(name: string, fallback = 'file'): string {
  let safe = name.normalize('NFC').replace(UNSAFE, '_').trim();
  // Trailing dots and spaces vanish on Windows; a leading dot hides the file (and the scan skips it).
  safe = safe.replace(/[. ]+$/, '').replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  if (safe === '') safe = fallback;
  if (WINDOWS_DEVICE.test(safe)) safe = `_${safe}`;
  while (Buffer.byteLength(safe) > MAX_BYTES) safe = [...safe].slice(0, -1).join('');
  return safe;
}

/** How a case-insensitive file system (Windows, macOS) sees a name. */
export const nameKey = (name: string): string => name.toLowerCase();

/**
 * `name`, or `stem~2.ext`, `stem~3.ext`... whichever `taken` does not hold yet (compared as a
 * case-insensitive file system would); the chosen name is added to `taken`.
 */
export function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 2; taken.has(nameKey(candidate)); n += 1) candidate = `${stem}~${n}${ext}`;
  taken.add(nameKey(candidate));
  return candidate;
}

/** `name`, or `name~2`, `name~3`... the first that `isTaken` says is free (for folders on disk). */
export async function firstFreeName(name: string, isTaken: (candidate: string) => boolean | Promise<boolean>): Promise<string> {
  let candidate = name;
  for (let n = 2; await isTaken(candidate); n += 1) candidate = `${name}~${n}`;
  return candidate;
}
