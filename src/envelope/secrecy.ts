/**
 * Secrecy marks (độ mật). Documents classified Mật, Tối mật or Tuyệt mật must never enter the
 * electronic exchange. edXML has no field for the classification, so a mark shows up as a
 * stamp in the text fields: the field is the mark, starts with it followed by a separator
 * ("MẬT - V/v …", "Tối mật: …"), carries it in
 * brackets ("(TỐI MẬT)"), or says "Độ mật: …". Plain words such as "bí mật" or "mật khẩu" in a
 * subject are not marks.
 */
import type { UncheckedDocument } from './types.js';

export const SECRECY_LEVELS = ['TUYỆT MẬT', 'TỐI MẬT', 'MẬT'] as const;

const LEVEL = '(TUYỆT MẬT|TỐI MẬT|MẬT)';
const STAMP_PATTERNS: readonly RegExp[] = [
  // At the start, followed by a separator: "MẬT - V/v …", "Tối mật: …" (not "Mật độ …").
  new RegExp(`^\\s*${LEVEL}\\s*(?:$|[-–—:.,;/|])`, 'iu'),
  // In brackets the mark is a stamp whatever its case: "(Mật)", "[TỐI MẬT]".
  new RegExp(`[(\\[«"“]\\s*${LEVEL}\\s*[)\\]»"”]`, 'iu'),
  /độ\s+mật\s*[:：-]\s*(tuyệt mật|tối mật|mật)(?![\p{L}\p{N}])/iu,
];

export interface SecrecyMark {
  path: string;
  mark: string;
}

/** The mark in one piece of text, if any. */
export function secrecyMarkIn(text: string): string | undefined {
  const normalized = text.normalize('NFC');
  for (const pattern of STAMP_PATTERNS) {
    const m = pattern.exec(normalized);
    if (m?.[1]) return m[1].toLocaleUpperCase('vi');
  }
  return undefined;
}

/** Is a metadata value for an explicit classification field a real classification? */
export function isSecrecyLevel(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  const text = String(value).normalize('NFC').trim().toLocaleUpperCase('vi');
  return text !== '' && !['0', 'NONE', 'KHÔNG', 'THƯỜNG', 'NORMAL'].includes(text);
}

export function findSecrecyMarks(p: UncheckedDocument): SecrecyMark[] {
  const fields: Array<[string, string | undefined]> = [
    ['subject', p.subject],
    ['content', p.content],
    ['documentType.typeName', p.documentType?.typeName],
    ['code.codeNotation', p.code?.codeNotation],
  ];
  (p.otherInfo?.appendixes ?? []).forEach((a, i) => fields.push([`otherInfo.appendixes[${i}]`, a]));
  (p.attachments ?? []).forEach((a, i) => {
    fields.push([`attachments[${i}].attachmentName`, a.attachmentName]);
    fields.push([`attachments[${i}].description`, a.description]);
  });
  const marks: SecrecyMark[] = [];
  for (const [path, value] of fields) {
    if (value === undefined) continue;
    const mark = secrecyMarkIn(value);
    if (mark) marks.push({ path, mark });
  }
  return marks;
}
