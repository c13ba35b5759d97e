/** Headers for files the API hands out: a safe media type and an RFC 6266/5987 file name. */

/** `attachment; filename="ASCII fallback"; filename*=UTF-8''percent-encoded` (Vietnamese names survive). */
export function contentDisposition(fileName: string, disposition: 'attachment' | 'inline' = 'attachment'): string {
  const name = fileName.normalize('NFC');
  const fallback =
    name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/đ/g, 'd')
      .replace(/Đ/g, 'D')
      .replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'file';
  if (fallback === name) return `${disposition}; filename="${name}"`;
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;

/** The stored media type if it is one (attachments come from other agencies), else octet-stream. */
export function safeContentType(value: string | null | undefined): string {
  const type = value?.split(';')[0]?.trim();
  return type && MEDIA_TYPE.test(type) ? type : 'application/octet-stream';
}
