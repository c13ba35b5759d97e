/**
 * Field-level validation of edXML packets. Each finding has a stable code, the field path, a
 * sentence a clerk or an integrator can act on, and a severity:
 *  - error: the packet is refused;
 *  - warning: a deviation real peers send and lienthong tolerates (reported, not refused).
 */
import type { Organization, Unchecked, UncheckedDocument, UncheckedPacket, UncheckedStatus } from './types.js';
import {
  BUSSINESS_DOC_TYPES,
  PRIORITIES,
  STATUS_CODES,
  STATUS_CODES_NEEDING_A_REASON,
  STEERING_TYPES,
  compareDates,
  organIdForm,
  parseDocumentId,
  parseEdxmlDate,
  parseEdxmlTimestamp,
  todayIn,
} from './values.js';
import { findSecrecyMarks } from './secrecy.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  code: string;
  path: string;
  message: string;
  severity: Severity;
}

export interface ValidationResult {
  valid: boolean;
  errors: Finding[];
  warnings: Finding[];
}

export interface ValidateOptions {
  /** The clock: "promulgation date not in the future" is judged against it. */
  now?: Date;
}

/** Field limits a peer hub enforces (edxml.md). */
export const FIELD_LIMITS = {
  codeNumber: 11,
  codeNotation: 30,
  subject: 500,
  content: 500,
  organName: 200,
  typeName: 100,
  sphereOfPromulgation: 100,
  typerNotation: 10,
  reason: 1000,
} as const;

class Findings {
  readonly list: Finding[] = [];
  error(code: string, path: string, message: string): void {
    this.list.push({ code, path, message, severity: 'error' });
  }
  warn(code: string, path: string, message: string): void {
    this.list.push({ code, path, message, severity: 'warning' });
  }
  required<T>(value: T, path: string, what: string): value is NonNullable<T> {
    if (value === undefined || (typeof value === 'string' && value.trim() === '')) {
      this.error('REQUIRED', path, `${what} is required (${path})`);
      return false;
    }
    return true;
  }
  maxLength(value: string | undefined, max: number, path: string, what: string): void {
    if (value !== undefined && [...value].length > max) {
      this.error('TOO_LONG', path, `${what} has ${[...value].length} characters; at most ${max} are allowed (${path})`);
    }
  }
  domain(value: string | undefined, allowed: readonly string[], code: string, path: string, what: string): void {
    if (value !== undefined && !allowed.includes(value)) {
      this.error(code, path, `${what} "${value}" is not one of ${allowed.join(', ')} (${path})`);
    }
  }
  organId(value: string | undefined, path: string): void {
    if (!this.required(value, path, 'Organ id')) return;
    const form = organIdForm(value as string);
    if (form === 'invalid') {
      this.error('ORGAN_ID_FORMAT', path, `"${value}" is not an organ id (expected V1V2V3.Z1Z2.Y1Y2.MX1X2, e.g. 000.00.01.H12) (${path})`);
    } else if (form === 'tolerated') {
      this.warn('ORGAN_ID_NONSTANDARD', path, `organ id "${value}" does not have the four standard groups V1V2V3.Z1Z2.Y1Y2.MX1X2 (${path})`);
    }
  }
  date(value: string | undefined, path: string, what: string): ReturnType<typeof parseEdxmlDate> {
    if (value === undefined) return undefined;
    const date = parseEdxmlDate(value);
    if (!date) this.error('DATE_FORMAT', path, `${what} "${value}" is not a real date in the form yyyy/MM/dd (${path})`);
    return date;
  }
  timestamp(value: string | undefined, path: string, what: string): void {
    if (value === undefined) return;
    if (!parseEdxmlTimestamp(value)) {
      this.error('TIMESTAMP_FORMAT', path, `${what} "${value}" is not a time in the form yyyy/MM/dd HH:mm:ss (${path})`);
    }
  }
}

/**
 * Judge a packet as read from untrusted bytes. Total: whatever the parser left out, the answer is
 * findings, never an exception; a packet that passes satisfies its `Packet` type.
 */
export function validatePacket(packet: UncheckedPacket, options: ValidateOptions = {}): ValidationResult {
  const f = new Findings();
  const now = options.now ?? new Date();
  if (packet.kind === 'document') validateDocument(packet, f, now);
  else validateStatus(packet, f);
  const errors = f.list.filter((x) => x.severity === 'error');
  const warnings = f.list.filter((x) => x.severity === 'warning');
  return { valid: errors.length === 0, errors, warnings };
}

function validateOrganization(org: Unchecked<Organization> | undefined, path: string, f: Findings): void {
  if (!f.required(org, path, path === 'from' ? 'The sender (From)' : 'A recipient (To)')) return;
  const o = org as Unchecked<Organization>;
  f.organId(o.organId, `${path}.organId`);
  f.maxLength(o.organName, FIELD_LIMITS.organName, `${path}.organName`, 'OrganName');
}

function validateDocument(p: UncheckedDocument, f: Findings, now: Date): void {
  validateOrganization(p.from, 'from', f);
  const recipients = p.to ?? [];
  if (recipients.length === 0) f.error('REQUIRED', 'to', 'At least one recipient (To) is required (to)');
  const seen = new Set<string>();
  recipients.forEach((to, i) => {
    validateOrganization(to, `to[${i}]`, f);
    if (to?.organId !== undefined) {
      if (seen.has(to.organId)) f.error('RECIPIENT_DUPLICATE', `to[${i}].organId`, `recipient ${to.organId} is listed more than once (to[${i}])`);
      seen.add(to.organId);
      if (to.organId === p.from?.organId) f.warn('RECIPIENT_IS_SENDER', `to[${i}].organId`, `the sender ${to.organId} also appears as a recipient (to[${i}])`);
    }
  });

  if (f.required(p.code, 'code', 'The document number and notation (Code)')) {
    if (f.required(p.code.codeNumber, 'code.codeNumber', 'CodeNumber (số)')) {
      f.maxLength(p.code.codeNumber, FIELD_LIMITS.codeNumber, 'code.codeNumber', 'CodeNumber');
      if (!/^\d+$/.test(p.code.codeNumber)) {
        f.warn('CODE_NUMBER_FORMAT', 'code.codeNumber', `CodeNumber "${p.code.codeNumber}" is not a number (code.codeNumber)`);
      }
    }
    if (f.required(p.code.codeNotation, 'code.codeNotation', 'CodeNotation (ký hiệu)')) {
      f.maxLength(p.code.codeNotation, FIELD_LIMITS.codeNotation, 'code.codeNotation', 'CodeNotation');
    }
  }

  let promulgated: ReturnType<typeof parseEdxmlDate>;
  if (f.required(p.promulgationInfo, 'promulgationInfo', 'PromulgationInfo')) {
    if (f.required(p.promulgationInfo.promulgationDate, 'promulgationInfo.promulgationDate', 'PromulgationDate')) {
      promulgated = f.date(p.promulgationInfo.promulgationDate, 'promulgationInfo.promulgationDate', 'PromulgationDate');
      if (promulgated && compareDates(promulgated, todayIn(now)) > 0) {
        f.error(
          'DATE_IN_FUTURE',
          'promulgationInfo.promulgationDate',
          `PromulgationDate ${p.promulgationInfo.promulgationDate} is in the future (promulgationInfo.promulgationDate)`,
        );
      }
    }
  }

  if (f.required(p.documentId, 'documentId', 'DocumentId')) {
    const parts = parseDocumentId(p.documentId);
    if (!parts) {
      f.error('DOCUMENT_ID_FORMAT', 'documentId', `DocumentId "${p.documentId}" is not "{organId},{yyyy/MM/dd},{number}/{notation}" (documentId)`);
    } else {
      if (p.from?.organId !== undefined && parts.organId !== p.from.organId) {
        f.warn('DOCUMENT_ID_SENDER', 'documentId', `DocumentId names ${parts.organId} but the sender is ${p.from.organId} (documentId)`);
      }
      if (!parseEdxmlDate(parts.date)) {
        f.warn('DOCUMENT_ID_DATE', 'documentId', `DocumentId date "${parts.date}" is not a real yyyy/MM/dd date (documentId)`);
      } else if (p.promulgationInfo?.promulgationDate !== undefined && parts.date !== p.promulgationInfo.promulgationDate) {
        f.warn('DOCUMENT_ID_DATE', 'documentId', `DocumentId date ${parts.date} differs from PromulgationDate ${p.promulgationInfo.promulgationDate} (documentId)`);
      }
      if (p.code?.codeNumber !== undefined && parts.code !== `${p.code.codeNumber}/${p.code.codeNotation}`) {
        f.warn('DOCUMENT_ID_CODE', 'documentId', `DocumentId code "${parts.code}" differs from Code ${p.code.codeNumber}/${p.code.codeNotation} (documentId)`);
      }
    }
  }

  if (f.required(p.documentType, 'documentType', 'DocumentType')) {
    f.required(p.documentType.type, 'documentType.type', 'DocumentType/Type');
    f.maxLength(p.documentType.typeName, FIELD_LIMITS.typeName, 'documentType.typeName', 'TypeName');
  }
  if (f.required(p.subject, 'subject', 'Subject (trích yếu)')) f.maxLength(p.subject, FIELD_LIMITS.subject, 'subject', 'Subject');
  f.maxLength(p.content, FIELD_LIMITS.content, 'content', 'Content');

  const due = f.date(p.dueDate, 'dueDate', 'DueDate');
  if (due && promulgated && compareDates(due, promulgated) < 0) {
    f.warn('DUE_BEFORE_PROMULGATION', 'dueDate', `DueDate ${p.dueDate} is before PromulgationDate ${p.promulgationInfo?.promulgationDate} (dueDate)`);
  }

  if (f.required(p.otherInfo, 'otherInfo', 'OtherInfo')) {
    if (f.required(p.otherInfo.priority, 'otherInfo.priority', 'Priority (độ khẩn)')) {
      f.domain(p.otherInfo.priority, PRIORITIES, 'PRIORITY_DOMAIN', 'otherInfo.priority', 'Priority');
    }
    f.maxLength(p.otherInfo.sphereOfPromulgation, FIELD_LIMITS.sphereOfPromulgation, 'otherInfo.sphereOfPromulgation', 'SphereOfPromulgation');
    f.maxLength(p.otherInfo.typerNotation, FIELD_LIMITS.typerNotation, 'otherInfo.typerNotation', 'TyperNotation');
    for (const [key, value] of [
      ['promulgationAmount', p.otherInfo.promulgationAmount],
      ['pageAmount', p.otherInfo.pageAmount],
    ] as const) {
      if (value !== undefined && !/^\d+$/.test(value)) f.error('NUMBER_FORMAT', `otherInfo.${key}`, `${key} "${value}" is not a whole number (otherInfo.${key})`);
    }
    if (p.otherInfo.direction !== undefined && !['true', 'false', '0', '1'].includes(p.otherInfo.direction)) {
      f.error('BOOLEAN_FORMAT', 'otherInfo.direction', `Direction "${p.otherInfo.direction}" is not true or false (otherInfo.direction)`);
    }
  }
  f.domain(p.steeringType, STEERING_TYPES, 'STEERING_DOMAIN', 'steeringType', 'SteeringType');
  // ResponseForTask says nothing without its TaskCode. The SDK's other fields (ApplicationType,
  // ReplyFors, ReferenceCodes, the StaffInfo ids) get no length limit: no peer is known to enforce
  // one, and an invented limit would refuse packets the national axis accepts.
  if (p.responseForTask !== undefined) f.required(p.responseForTask.taskCode, 'responseForTask.taskCode', 'ResponseForTask/TaskCode');

  (p.responseFor ?? []).forEach((r, i) => {
    f.organId(r.organId, `responseFor[${i}].organId`);
    f.required(r.documentId, `responseFor[${i}].documentId`, 'The DocumentId of the answered document');
    f.date(r.promulgationDate, `responseFor[${i}].promulgationDate`, 'ResponseFor/PromulgationDate');
  });

  const traceHeaders = p.traceHeaders ?? [];
  if (traceHeaders.length === 0) f.warn('TRACE_MISSING', 'traceHeaders', 'the packet has no TraceHeader (traceHeaders)');
  traceHeaders.forEach((t, i) => {
    f.organId(t.organId, `traceHeaders[${i}].organId`);
    if (f.required(t.timestamp, `traceHeaders[${i}].timestamp`, 'TraceHeader/Timestamp')) {
      f.timestamp(t.timestamp, `traceHeaders[${i}].timestamp`, 'TraceHeader/Timestamp');
    }
  });

  if (p.bussiness === undefined) {
    f.warn('BUSSINESS_MISSING', 'bussiness', 'the packet has no Bussiness element; it is treated as a new document (bussiness)');
  } else {
    const b = p.bussiness;
    if (f.required(b.bussinessDocType, 'bussiness.bussinessDocType', 'BussinessDocType')) {
      f.domain(b.bussinessDocType, BUSSINESS_DOC_TYPES, 'BUSINESS_TYPE_DOMAIN', 'bussiness.bussinessDocType', 'BussinessDocType');
    }
    f.domain(b.paper, ['0', '1'], 'PAPER_DOMAIN', 'bussiness.paper', 'Paper');
    if (b.documentId !== undefined) {
      const parts = parseDocumentId(b.documentId);
      if (!parts) f.error('DOCUMENT_ID_FORMAT', 'bussiness.documentId', `Bussiness DocumentId "${b.documentId}" is not "{organId},{yyyy/MM/dd},{number}/{notation}" (bussiness.documentId)`);
      else if (!parseEdxmlDate(parts.date)) f.warn('DOCUMENT_ID_DATE', 'bussiness.documentId', `Bussiness DocumentId date "${parts.date}" is not a real yyyy/MM/dd date (bussiness.documentId)`);
    }
    if (b.bussinessDocType === '3' && (b.replacementInfoList ?? []).length === 0) {
      f.error('REPLACEMENT_MISSING', 'bussiness.replacementInfoList', 'a replacement (BussinessDocType 3) must name the replaced document in ReplacementInfoList (bussiness.replacementInfoList)');
    }
    if (b.bussinessDocType === '2' && b.documentId === undefined) {
      f.warn('UPDATE_TARGET_MISSING', 'bussiness.documentId', 'an update (BussinessDocType 2) does not name the updated document in Bussiness/DocumentId (bussiness.documentId)');
    }
    (b.replacementInfoList ?? []).forEach((r, i) => {
      f.required(r.documentId, `bussiness.replacementInfoList[${i}].documentId`, 'ReplacementInfo/DocumentId');
      (r.organIdList ?? []).forEach((id, j) => f.organId(id, `bussiness.replacementInfoList[${i}].organIdList[${j}]`));
    });
    (b.bussinessDocumentInfo?.receiverList ?? []).forEach((r, i) => f.organId(r.organId, `bussiness.bussinessDocumentInfo.receiverList[${i}].organId`));
  }

  validateAttachments(p, f);
  for (const mark of findSecrecyMarks(p)) {
    f.error('SECRECY_MARK', mark.path, `the document carries the secrecy mark "${mark.mark}"; documents marked secret (Mật, Tối mật, Tuyệt mật) must not be sent through this system (${mark.path})`);
  }
}

function validateAttachments(p: UncheckedDocument, f: Findings): void {
  const attachments = p.attachments ?? [];
  const manifest = p.manifest ?? [];
  const ids = new Set<string>();
  attachments.forEach((a, i) => {
    if (!f.required(a.contentId, `attachments[${i}].contentId`, 'Attachment/ContentId')) return;
    if (ids.has(a.contentId)) f.error('ATTACHMENT_DUPLICATE', `attachments[${i}].contentId`, `two attachments share ContentId ${a.contentId} (attachments[${i}])`);
    ids.add(a.contentId);
    if (!manifest.some((m) => m.contentId === a.contentId)) {
      f.warn('ATTACHMENT_NOT_IN_MANIFEST', `attachments[${i}]`, `attachment ${a.contentId} is not listed in edXMLManifest (attachments[${i}])`);
    }
  });
  manifest.forEach((m, i) => {
    if (!f.required(m.contentId, `manifest[${i}].contentId`, 'Reference/ContentId')) return;
    if (!ids.has(m.contentId)) f.error('ATTACHMENT_MISSING', `manifest[${i}]`, `edXMLManifest lists ${m.contentId} but no attachment carries it (manifest[${i}])`);
  });
}

function validateStatus(p: UncheckedStatus, f: Findings): void {
  validateOrganization(p.from, 'from', f);
  if (f.required(p.responseFor, 'responseFor', 'ResponseFor (the document the status is about)')) {
    f.organId(p.responseFor.organId, 'responseFor.organId');
    if (f.required(p.responseFor.documentId, 'responseFor.documentId', 'ResponseFor/DocumentId')) {
      if (!parseDocumentId(p.responseFor.documentId)) {
        f.error('DOCUMENT_ID_FORMAT', 'responseFor.documentId', `DocumentId "${p.responseFor.documentId}" is not "{organId},{yyyy/MM/dd},{number}/{notation}" (responseFor.documentId)`);
      }
    }
    f.date(p.responseFor.promulgationDate, 'responseFor.promulgationDate', 'ResponseFor/PromulgationDate');
  }
  if (f.required(p.statusCode, 'statusCode', 'StatusCode')) {
    f.domain(p.statusCode, STATUS_CODES, 'STATUS_CODE_DOMAIN', 'statusCode', 'StatusCode');
    if (STATUS_CODES_NEEDING_A_REASON.includes(p.statusCode) && (p.description ?? '').trim() === '') {
      f.error('REASON_REQUIRED', 'description', `status ${p.statusCode} must give a reason in Description (description)`);
    }
  }
  f.maxLength(p.description, FIELD_LIMITS.reason, 'description', 'Description');
  if (f.required(p.timestamp, 'timestamp', 'Timestamp')) f.timestamp(p.timestamp, 'timestamp', 'Timestamp');
}
