/**
 * What the API shows of the edge's records (schemas/api/document-*.json), the paths it links
 * to, and the list filters translated into the records' query. Pure functions.
 */
import type { DocumentView } from '../../edge/edge.js';
import type { OverdueItem, PaperItem } from '../../edge/lifecycle.js';
import type { Assignment, AttachmentRow, DocumentQuery, DocumentRow } from '../../edge/records.js';
import { isUrgent, VN_UTC_OFFSET_MINUTES } from '../../envelope/values.js';
import type { DeliveryRow, TimelineEvent } from '../../store/deliveries.js';
import type { ZipEntryInfo } from '../../archive/zip.js';
import { LtError } from '../../errors.js';

export const API_PREFIX = '/api/v1';

export function documentPath(documentId: string): string {
  return `${API_PREFIX}/documents/${encodeURIComponent(documentId)}`;
}

export function attachmentPath(documentId: string, contentId: string): string {
  return `${documentPath(documentId)}/attachments/${encodeURIComponent(contentId)}`;
}

/** Each segment encoded on its own, so that the '/' of the entry's folders stays a '/'. */
export function attachmentFilePath(documentId: string, contentId: string, path: string): string {
  return `${attachmentPath(documentId, contentId)}/files/${path.split('/').map(encodeURIComponent).join('/')}`;
}

const ZIP_MEDIA_TYPES = new Set(['application/zip', 'application/x-zip-compressed']);

/** Declared a zip archive (the SDK labels every attachment application/zip). */
export function isZipMediaType(contentType: string | null): boolean {
  return contentType !== null && ZIP_MEDIA_TYPES.has(contentType.split(';')[0]!.trim().toLowerCase());
}

export interface DeliveryJson {
  recipient: string;
  stage: string;
  recall: string;
  updatedAt: string;
}

export interface DocumentSummaryJson {
  documentId: string;
  packetId: string;
  direction: 'out' | 'in';
  sender: string;
  subject: string | null;
  code: string | null;
  priority: string;
  urgent: boolean;
  createdAt: string;
  verdict: string | null;
  deliveries: DeliveryJson[];
  url: string;
}

export interface AttachmentJson {
  contentId: string;
  name: string | null;
  contentType: string | null;
  size: number;
  sha256: string;
  url: string;
  filesUrl: string | null;
}

/** A file inside a zipped attachment (schemas/api/attachment-file.json). */
export interface AttachmentFileJson {
  path: string;
  size: number;
  compressedSize: number;
  modified: string;
  url: string;
}

/** The files inside a zipped attachment (schemas/api/attachment-files.json). */
export interface AttachmentFilesJson {
  documentId: string;
  contentId: string;
  name: string | null;
  files: AttachmentFileJson[];
}

export interface DocumentViewJson extends DocumentSummaryJson {
  lane: 'urgent' | 'normal';
  bussinessType: string | null;
  responseFor: string | null;
  promulgationDate: string | null;
  dueDate: string | null;
  paper: boolean;
  relatedDocument: string | null;
  supersededBy: string | null;
  assignment: Assignment | null;
  error: { code: string; message: string | null } | null;
  timeline: TimelineEvent[];
  attachments: AttachmentJson[];
  packetUrl: string;
}

export interface DocumentListJson {
  total: number;
  page: number;
  pageSize: number;
  items: DocumentSummaryJson[];
}

const delivery = (d: DeliveryRow): DeliveryJson => ({ recipient: d.recipient, stage: d.stage, recall: d.recall, updatedAt: d.updatedAt });

export function documentSummary(d: DocumentRow, deliveries: readonly DeliveryRow[]): DocumentSummaryJson {
  return {
    documentId: d.documentId,
    packetId: d.packetId,
    direction: d.direction,
    sender: d.sender,
    subject: d.subject,
    code: d.code,
    priority: d.priority,
    urgent: isUrgent(d.priority),
    createdAt: d.createdAt,
    verdict: d.verdict,
    deliveries: deliveries.map(delivery),
    url: documentPath(d.documentId),
  };
}

/** `filesUrl` goes by the declared media type only: the view reads no attachment bytes. */
export function attachmentView(a: AttachmentRow): AttachmentJson {
  const url = attachmentPath(a.documentId, a.contentId);
  return { contentId: a.contentId, name: a.name, contentType: a.contentType, size: a.size, sha256: a.sha256, url, filesUrl: isZipMediaType(a.contentType) ? `${url}/files` : null };
}

export function attachmentFiles(a: AttachmentRow, entries: readonly ZipEntryInfo[]): AttachmentFilesJson {
  return {
    documentId: a.documentId,
    contentId: a.contentId,
    name: a.name,
    files: entries.map((e) => ({
      path: e.path,
      size: e.size,
      compressedSize: e.compressedSize,
      modified: e.modified.toISOString(),
      url: attachmentFilePath(a.documentId, a.contentId, e.path),
    })),
  };
}

export function documentView(view: DocumentView): DocumentViewJson {
  const d = view.document;
  return {
    ...documentSummary(d, view.deliveries),
    lane: d.lane,
    bussinessType: d.bussinessType,
    responseFor: d.responseFor,
    promulgationDate: d.promulgationDate,
    dueDate: d.dueDate,
    paper: d.paper,
    relatedDocument: d.relatedDocument,
    supersededBy: d.supersededBy,
    assignment: d.assignment,
    error: d.errorCode ? { code: d.errorCode, message: d.errorMessage } : null,
    timeline: view.timeline,
    attachments: view.attachments.map(attachmentView),
    packetUrl: `${documentPath(d.documentId)}/packet`,
  };
}

/** The query string of GET /outbox and /inbox (schemas/api/list-query.json, defaults applied). */
export interface ListQueryJson {
  stage?: string;
  priority?: string;
  q?: string;
  from?: string;
  to?: string;
  page: number;
  pageSize: number;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * An ISO date or date-time as the UTC instant the records compare with (`created_at` is
 * `toISOString()`). A bare date is a Vietnamese calendar day (UTC+7): `from` is its first
 * instant, `to` the first instant of the next day, so that `to=2024-05-02` includes that day.
 */
export function boundary(value: string, end: 'from' | 'to'): string {
  const day = DATE_ONLY.exec(value);
  const instant = day
    ? new Date(Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]) + (end === 'to' ? 1 : 0)) - VN_UTC_OFFSET_MINUTES * 60_000)
    : new Date(value);
  if (Number.isNaN(instant.getTime())) throw new LtError('USAGE', `"${value}" is not an ISO date or date-time`, { path: `querystring/${end}` });
  return instant.toISOString();
}

export function documentQuery(direction: 'out' | 'in', q: ListQueryJson): DocumentQuery {
  return {
    direction,
    page: q.page,
    pageSize: q.pageSize,
    ...(q.stage !== undefined ? { stage: q.stage } : {}),
    ...(q.priority !== undefined ? { priority: q.priority } : {}),
    ...(q.q !== undefined ? { search: q.q } : {}),
    ...(q.from !== undefined ? { from: boundary(q.from, 'from') } : {}),
    ...(q.to !== undefined ? { to: boundary(q.to, 'to') } : {}),
  };
}

/** A document in a chain of updates and replacements (schemas/api/chain-document.json). */
export interface ChainDocumentJson extends DocumentSummaryJson {
  bussinessType: string | null;
  relatedDocument: string | null;
  supersededBy: string | null;
}

export function chainDocument(d: DocumentRow, deliveries: readonly DeliveryRow[]): ChainDocumentJson {
  return { ...documentSummary(d, deliveries), bussinessType: d.bussinessType, relatedDocument: d.relatedDocument, supersededBy: d.supersededBy };
}

/** Something late (schemas/api/overdue-item.json): Lifecycle.overdue's item with the document's path. */
export interface OverdueItemJson extends OverdueItem {
  url: string;
}

export function overdueItem(item: OverdueItem): OverdueItemJson {
  return { ...item, url: documentPath(item.documentId) };
}

/** A paper copy to send (schemas/api/paper-item.json): Lifecycle.paper's item with the document's path. */
export interface PaperItemJson extends PaperItem {
  url: string;
}

export function paperItem(item: PaperItem): PaperItemJson {
  return { ...item, url: documentPath(item.documentId) };
}
