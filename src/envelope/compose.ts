/**
 * Plain metadata (what an agency system or `lienthong build META.json` provides) → a complete
 * packet model with the defaults a văn thư would otherwise fill in by hand: today's
 * promulgation date, the DocumentId, the sender's TraceHeader, a "new document" Bussiness block,
 * content ids and the manifest. Pure: the clock is a parameter.
 */
import { LtError } from '../errors.js';
import { isSecrecyLevel } from './secrecy.js';
import type {
  Attachment,
  Bussiness,
  DocumentPacket,
  DocumentType,
  Organization,
  OtherInfo,
  ResponseFor,
  ResponseForTask,
  SignerInfo,
  StaffInfo,
  StatusPacket,
  TraceHeader,
} from './types.js';
import { formatDocumentId, formatEdxmlDate, formatEdxmlTimestamp } from './values.js';

export interface AttachmentInput {
  name: string;
  content: Uint8Array;
  contentType?: string;
  description?: string;
}

export interface DocumentInput {
  from: Organization;
  to: Organization[];
  code: { codeNumber: string; codeNotation: string };
  subject: string;
  documentType?: DocumentType;
  promulgationInfo?: { place?: string; promulgationDate?: string };
  content?: string;
  signerInfo?: SignerInfo;
  dueDate?: string;
  /** Shorthand for otherInfo.priority. */
  priority?: string;
  otherInfo?: Partial<OtherInfo>;
  responseFor?: ResponseFor[];
  steeringType?: string;
  responseForTask?: ResponseForTask;
  applicationType?: string;
  toPlaces?: string[];
  bussiness?: Partial<Bussiness>;
  staffInfo?: StaffInfo;
  documentId?: string;
  traceHeaders?: TraceHeader[];
  /** An explicit classification (độ mật). Any real level makes the document refused. */
  secrecy?: string;
  attachments?: AttachmentInput[];
}

export const DEFAULT_DOCUMENT_TYPE: DocumentType = { type: '1', typeDetail: '0', typeName: 'Công văn' };

const BUSSINESS_REASON: Record<string, string> = {
  '0': 'Văn bản điện tử mới',
  '1': 'Thu hồi văn bản điện tử',
  '2': 'Cập nhật văn bản điện tử',
  '3': 'Văn bản thay thế',
};

export function composeDocument(input: DocumentInput, now: Date): DocumentPacket {
  if (isSecrecyLevel(input.secrecy)) {
    throw new LtError(
      'PACKET_SECRET',
      `the document is classified "${input.secrecy}"; documents with a secrecy level (Mật, Tối mật, Tuyệt mật) must not be sent electronically`,
      { path: 'secrecy' },
    );
  }
  const promulgationDate = input.promulgationInfo?.promulgationDate ?? formatEdxmlDate(now);
  const attachments: Attachment[] = (input.attachments ?? []).map((a, i) => ({
    contentId: `cid:${i + 1}`,
    attachmentName: a.name,
    description: a.description ?? a.name,
    contentType: a.contentType ?? contentTypeFor(a.name),
    content: a.content,
  }));
  const docType = input.bussiness?.bussinessDocType ?? '0';
  const packet: DocumentPacket = {
    kind: 'document',
    from: input.from,
    to: input.to,
    documentId: input.documentId ?? formatDocumentId(input.from.organId, promulgationDate, input.code.codeNumber, input.code.codeNotation),
    code: input.code,
    promulgationInfo: { ...(input.promulgationInfo?.place !== undefined ? { place: input.promulgationInfo.place } : {}), promulgationDate },
    documentType: input.documentType ?? DEFAULT_DOCUMENT_TYPE,
    subject: input.subject,
    otherInfo: otherInfoOf(input),
    traceHeaders: input.traceHeaders ?? [{ organId: input.from.organId, timestamp: formatEdxmlTimestamp(now) }],
    bussiness: {
      bussinessDocType: docType,
      bussinessDocReason: BUSSINESS_REASON[docType] ?? '',
      paper: '0',
      ...input.bussiness,
      ...(input.staffInfo ? { staffInfo: input.staffInfo } : {}),
    },
    manifest: attachments.map((a) => ({
      contentId: a.contentId,
      contentType: a.contentType,
      description: a.description,
      attachmentName: a.attachmentName,
    })),
    attachments,
  };
  const optional = {
    content: input.content,
    signerInfo: input.signerInfo,
    dueDate: input.dueDate,
    responseFor: input.responseFor?.length ? input.responseFor : undefined,
    steeringType: input.steeringType,
    responseForTask: input.responseForTask,
    applicationType: input.applicationType,
    toPlaces: input.toPlaces?.length ? input.toPlaces : undefined,
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (packet as unknown as Record<string, unknown>)[key] = value;
  }
  return packet;
}

function otherInfoOf(input: DocumentInput): OtherInfo {
  const { replyFors, referenceCodes, ...rest } = input.otherInfo ?? {};
  return {
    ...rest,
    // Repeated elements without a wrapper: an empty list writes nothing, so it is left out
    // rather than read back as absent.
    ...(replyFors?.length ? { replyFors } : {}),
    ...(referenceCodes?.length ? { referenceCodes } : {}),
    priority: input.priority ?? input.otherInfo?.priority ?? '0',
  };
}

export interface StatusInput {
  from: Organization;
  /** The document the status is about (for 13: `organId` is the recipient). */
  responseFor: ResponseFor;
  statusCode: string;
  description?: string;
  staffInfo?: StaffInfo;
}

/**
 * What a status says when its author gives no text of its own. Peers match statuses by code and
 * show the Description to their văn thư, and the SDK's packets always carry one. A return (02),
 * a recall (13) and a refused recall (16) have none: they must give their own reason.
 */
export const DEFAULT_STATUS_DESCRIPTIONS: Readonly<Record<string, string>> = {
  '01': 'Đã đến - phần mềm đã nhận, văn thư chưa xử lý',
  '03': 'Đã tiếp nhận, vào sổ văn bản đến',
  '04': 'Đã phân công xử lý',
  '05': 'Đang xử lý',
  '06': 'Đã hoàn thành xử lý',
  '15': 'Đồng ý lấy lại văn bản',
};

/** The office a status comes from when the node's configuration names nobody: its văn thư. */
export function defaultStaffInfo(from: Organization): StaffInfo {
  return { department: 'Văn thư', staff: from.organName ?? from.organId };
}

/**
 * Every status carries StaffInfo and a Description, as the SDK's peers expect to match them;
 * one that needs a reason and was given none is left without, for validation to refuse.
 */
export function composeStatus(input: StatusInput, now: Date): StatusPacket {
  const description = input.description ?? DEFAULT_STATUS_DESCRIPTIONS[input.statusCode];
  return {
    kind: 'status',
    from: input.from,
    responseFor: input.responseFor,
    staffInfo: input.staffInfo ?? defaultStaffInfo(input.from),
    statusCode: input.statusCode,
    ...(description !== undefined ? { description } : {}),
    timestamp: formatEdxmlTimestamp(now),
  };
}

const CONTENT_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  odt: 'application/vnd.oasis.opendocument.text',
  zip: 'application/zip',
  txt: 'text/plain',
  xml: 'application/xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  tif: 'image/tiff',
  tiff: 'image/tiff',
};

export function contentTypeFor(fileName: string): string {
  const ext = fileName.slice(fileName.lastIndexOf('.') + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}
