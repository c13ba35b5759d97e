/**
 * The edXML packet model (QCVN 102:2016/BTTTT), field for field as the wire carries it.
 *
 * Leaves are strings exactly as read (a packet from a peer may carry values outside the
 * domains; `validate` reports them instead of the parser refusing the whole packet). The
 * literal unions document the domains and are what lienthong itself writes.
 * Optional elements are absent (undefined) when the wire has no such element, so that
 * `parse(build(x))` gives back `x`.
 */

export const EDXML_NS = 'http://www.mic.gov.vn/TBT/QCVN_102_2016';
export const EDXML_PREFIX = 'edXML';

/** Mã định danh: `V1V2V3.Z1Z2.Y1Y2.MX1X2`. Branded so that a plain string is not taken for one. */
export type OrganId = string & { readonly __brand: 'OrganId' };

/** 0 thường, 1 Khẩn, 2 Thượng khẩn, 3 Hỏa tốc, 4 Hỏa tốc hẹn giờ. */
export type Priority = '0' | '1' | '2' | '3' | '4';
/** 0 new, 1 revoke (thu hồi), 2 update (cập nhật), 3 replace (thay thế). */
export type BussinessDocType = '0' | '1' | '2' | '3';
/** 0 none, 1 directive, 2 directive requiring a report. */
export type SteeringType = '0' | '1' | '2';
export type StatusCode = '01' | '02' | '03' | '04' | '05' | '06' | '13' | '15' | '16';

export interface Organization {
  organId: string;
  organizationInCharge?: string;
  organName?: string;
  organAdd?: string;
  email?: string;
  telephone?: string;
  fax?: string;
  website?: string;
}

export interface DocumentCode {
  codeNumber: string;
  codeNotation: string;
}

export interface PromulgationInfo {
  place?: string;
  /** yyyy/MM/dd */
  promulgationDate: string;
}

export interface DocumentType {
  type: string;
  typeDetail?: string;
  typeName?: string;
}

export interface SignerInfo {
  competence?: string;
  position?: string;
  fullName?: string;
}

export interface OtherInfo {
  priority: string;
  sphereOfPromulgation?: string;
  typerNotation?: string;
  promulgationAmount?: string;
  pageAmount?: string;
  direction?: string;
  /**
   * Codes of the documents this one replies to, and of those it refers to, as the national
   * SDK's builder writes them (`ReplyFors`, `ReferenceCodes`). A plural name holding a single code
   * is what a serialised list looks like, so a peer with two codes may well repeat the element:
   * they are lists here, and a repeated element is read rather than refused. Absent rather than
   * empty: with no element on the wire there is nothing to tell an empty list from.
   */
  replyFors?: string[];
  referenceCodes?: string[];
  appendixes?: string[];
}

/** Links a reply (or a status) to the document it is about. */
export interface ResponseFor {
  organId: string;
  code?: string;
  documentId?: string;
  /** yyyy/MM/dd */
  promulgationDate?: string;
}

/** The task (nhiệm vụ) a document answers, by its code, as the SDK's builder writes it. */
export interface ResponseForTask {
  taskCode: string;
}

export interface TraceHeader {
  organId: string;
  /** yyyy/MM/dd HH:mm:ss */
  timestamp: string;
}

export interface StaffInfo {
  department?: string;
  /** The department's and the person's ids in the sender's system (written by the SDK's builder). */
  departmentId?: string;
  staff?: string;
  staffId?: string;
  email?: string;
  mobile?: string;
}

export interface Receiver {
  organId: string;
  receiverType?: string;
}

export interface BussinessDocumentInfo {
  documentInfo?: string;
  documentReceiver?: string;
  receiverList?: Receiver[];
}

export interface ReplacementInfo {
  documentId: string;
  organIdList?: string[];
}

export interface Bussiness {
  documentId?: string;
  bussinessDocType: string;
  bussinessDocReason?: string;
  paper?: string;
  bussinessDocumentInfo?: BussinessDocumentInfo;
  replacementInfoList?: ReplacementInfo[];
  staffInfo?: StaffInfo;
}

/** An entry of `edXMLManifest`: what the body announces. */
export interface ManifestReference {
  contentId: string;
  contentType?: string;
  description?: string;
  attachmentName?: string;
}

/** An entry of `AttachmentEncoded`: the bytes. */
export interface Attachment {
  contentId: string;
  attachmentName?: string;
  description?: string;
  contentType?: string;
  content: Uint8Array;
}

export interface DocumentPacket {
  kind: 'document';
  from: Organization;
  to: Organization[];
  documentId: string;
  code: DocumentCode;
  promulgationInfo: PromulgationInfo;
  documentType: DocumentType;
  subject: string;
  content?: string;
  signerInfo?: SignerInfo;
  /** yyyy/MM/dd */
  dueDate?: string;
  otherInfo: OtherInfo;
  responseFor?: ResponseFor[];
  steeringType?: string;
  responseForTask?: ResponseForTask;
  /** As the SDK's builder writes it (its sample: QLVB); no fixed set of values is known, so none is checked. */
  applicationType?: string;
  toPlaces?: string[];
  /** The `id` and `version` attributes of TraceHeaderList (the SDK's builder writes them). */
  traceHeaderListId?: string;
  traceHeaderListVersion?: string;
  traceHeaders: TraceHeader[];
  bussiness?: Bussiness;
  /**
   * Present when the packet wrote Bussiness before its TraceHeaders, as the SDK's builder does,
   * so that rebuilding a peer's packet keeps its order; absent means the standard's order
   * (TraceHeaders first), which is what lienthong writes. Recorded only when both are present:
   * with one of them alone there is no order to keep.
   */
  bussinessFirst?: true;
  manifest?: ManifestReference[];
  attachments?: Attachment[];
}

export interface StatusPacket {
  kind: 'status';
  from: Organization;
  responseFor: ResponseFor;
  staffInfo?: StaffInfo;
  statusCode: string;
  description?: string;
  /** yyyy/MM/dd HH:mm:ss */
  timestamp: string;
  traceHeaderListId?: string;
  traceHeaderListVersion?: string;
  traceHeaders?: TraceHeader[];
}

export type Packet = DocumentPacket | StatusPacket;

/**
 * A model as read from untrusted bytes, before `validatePacket` judged it: the parser is strict
 * about structure but not about presence, so any field the packet types declare required may be
 * absent here. Code that reads a packet which failed (or has not passed) validation, above all
 * the code that refuses it, takes this type, so that the compiler makes it read every field as
 * possibly missing: a refusal must never crash on the very packet it refuses.
 */
export type Unchecked<T> = T extends Uint8Array
  ? T | undefined
  : T extends ReadonlyArray<infer U>
    ? Array<Unchecked<U>> | undefined
    : T extends object
      ? { [K in keyof T]?: Unchecked<T[K]> }
      : T | undefined;

export type UncheckedDocument = Unchecked<Omit<DocumentPacket, 'kind'>> & { kind: 'document' };
export type UncheckedStatus = Unchecked<Omit<StatusPacket, 'kind'>> & { kind: 'status' };
export type UncheckedPacket = UncheckedDocument | UncheckedStatus;
