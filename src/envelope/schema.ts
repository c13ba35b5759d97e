/**
 * One declarative description of the edXML elements, read by both `build` and `parse`, so that
 * the two can never disagree on an element name, its order or its nesting.
 * Order is the order of the public sample packets (and of schemas/edxml.xsd); where the national
 * SDK's builder uses another one (TraceHeaderList), both are described.
 */

export type FieldSpec =
  /** `<X>text</X>` → `key: string` */
  | { xml: string; key: string; kind: 'text' }
  /** `<X>…</X>` → `key: {…}` */
  | { xml: string; key: string; kind: 'struct'; fields: readonly FieldSpec[] }
  /** `<X/><X/>` repeated in place → `key: string[]` */
  | { xml: string; key: string; kind: 'texts' }
  /** `<X>…</X><X>…</X>` repeated in place → `key: {…}[]` */
  | { xml: string; key: string; kind: 'structs'; fields: readonly FieldSpec[] }
  /** `<X><Item>t</Item>…</X>` → `key: string[]` */
  | { xml: string; key: string; kind: 'textList'; item: string }
  /** `<X><Item>…</Item>…</X>` → `key: {…}[]` */
  | { xml: string; key: string; kind: 'structList'; item: string; fields: readonly FieldSpec[] }
  /** An attribute of the element these specs describe → `key: string` */
  | { xml: string; key: string; kind: 'attribute' };

const text = (xml: string, key: string): FieldSpec => ({ xml, key, kind: 'text' });
const texts = (xml: string, key: string): FieldSpec => ({ xml, key, kind: 'texts' });
const attribute = (xml: string, key: string): FieldSpec => ({ xml, key, kind: 'attribute' });

export const ORGANIZATION_FIELDS: readonly FieldSpec[] = [
  text('OrganId', 'organId'),
  text('OrganizationInCharge', 'organizationInCharge'),
  text('OrganName', 'organName'),
  text('OrganAdd', 'organAdd'),
  text('Email', 'email'),
  text('Telephone', 'telephone'),
  text('Fax', 'fax'),
  text('Website', 'website'),
];

export const RESPONSE_FOR_FIELDS: readonly FieldSpec[] = [
  text('OrganId', 'organId'),
  text('Code', 'code'),
  text('DocumentId', 'documentId'),
  text('PromulgationDate', 'promulgationDate'),
];

export const STAFF_INFO_FIELDS: readonly FieldSpec[] = [
  text('Department', 'department'),
  text('DepartmentId', 'departmentId'),
  text('Staff', 'staff'),
  text('StaffId', 'staffId'),
  text('Email', 'email'),
  text('Mobile', 'mobile'),
];

export const TRACE_HEADER_FIELDS: readonly FieldSpec[] = [text('OrganId', 'organId'), text('Timestamp', 'timestamp')];

export const DOCUMENT_HEADER_FIELDS: readonly FieldSpec[] = [
  { xml: 'From', key: 'from', kind: 'struct', fields: ORGANIZATION_FIELDS },
  { xml: 'To', key: 'to', kind: 'structs', fields: ORGANIZATION_FIELDS },
  text('DocumentId', 'documentId'),
  { xml: 'Code', key: 'code', kind: 'struct', fields: [text('CodeNumber', 'codeNumber'), text('CodeNotation', 'codeNotation')] },
  {
    xml: 'PromulgationInfo',
    key: 'promulgationInfo',
    kind: 'struct',
    fields: [text('Place', 'place'), text('PromulgationDate', 'promulgationDate')],
  },
  {
    xml: 'DocumentType',
    key: 'documentType',
    kind: 'struct',
    fields: [text('Type', 'type'), text('TypeDetail', 'typeDetail'), text('TypeName', 'typeName')],
  },
  text('Subject', 'subject'),
  text('Content', 'content'),
  {
    xml: 'SignerInfo',
    key: 'signerInfo',
    kind: 'struct',
    fields: [text('Competence', 'competence'), text('Position', 'position'), text('FullName', 'fullName')],
  },
  text('DueDate', 'dueDate'),
  {
    xml: 'OtherInfo',
    key: 'otherInfo',
    kind: 'struct',
    fields: [
      text('Priority', 'priority'),
      text('SphereOfPromulgation', 'sphereOfPromulgation'),
      text('TyperNotation', 'typerNotation'),
      text('PromulgationAmount', 'promulgationAmount'),
      text('PageAmount', 'pageAmount'),
      texts('ReplyFors', 'replyFors'),
      text('Direction', 'direction'),
      texts('ReferenceCodes', 'referenceCodes'),
      { xml: 'Appendixes', key: 'appendixes', kind: 'textList', item: 'Appendix' },
    ],
  },
  { xml: 'ResponseFor', key: 'responseFor', kind: 'structs', fields: RESPONSE_FOR_FIELDS },
  text('SteeringType', 'steeringType'),
  { xml: 'ResponseForTask', key: 'responseForTask', kind: 'struct', fields: [text('TaskCode', 'taskCode')] },
  text('ApplicationType', 'applicationType'),
  { xml: 'ToPlaces', key: 'toPlaces', kind: 'textList', item: 'Place' },
];

export const BUSSINESS_FIELDS: readonly FieldSpec[] = [
  text('DocumentId', 'documentId'),
  text('BussinessDocType', 'bussinessDocType'),
  text('BussinessDocReason', 'bussinessDocReason'),
  text('Paper', 'paper'),
  {
    xml: 'BussinessDocumentInfo',
    key: 'bussinessDocumentInfo',
    kind: 'struct',
    fields: [
      text('DocumentInfo', 'documentInfo'),
      text('DocumentReceiver', 'documentReceiver'),
      {
        xml: 'ReceiverList',
        key: 'receiverList',
        kind: 'structList',
        item: 'Receiver',
        fields: [text('OrganId', 'organId'), text('ReceiverType', 'receiverType')],
      },
    ],
  },
  {
    xml: 'ReplacementInfoList',
    key: 'replacementInfoList',
    kind: 'structList',
    item: 'ReplacementInfo',
    fields: [text('DocumentId', 'documentId'), { xml: 'OrganIdList', key: 'organIdList', kind: 'textList', item: 'OrganId' }],
  },
  { xml: 'StaffInfo', key: 'staffInfo', kind: 'struct', fields: STAFF_INFO_FIELDS },
];

const TRACE_LIST_ATTRIBUTES: readonly FieldSpec[] = [attribute('id', 'traceHeaderListId'), attribute('version', 'traceHeaderListVersion')];
const TRACE_HEADERS: FieldSpec = { xml: 'TraceHeader', key: 'traceHeaders', kind: 'structs', fields: TRACE_HEADER_FIELDS };
const BUSSINESS: FieldSpec = { xml: 'Bussiness', key: 'bussiness', kind: 'struct', fields: BUSSINESS_FIELDS };

/** The standard's order, and lienthong's. */
export const TRACE_LIST_FIELDS: readonly FieldSpec[] = [...TRACE_LIST_ATTRIBUTES, TRACE_HEADERS, BUSSINESS];

/**
 * The order of the national SDK's builder, kept when a packet that used it is rebuilt (the
 * packet model's `bussinessFirst`). Parsing reads children by name, so either list reads either
 * order.
 */
export const TRACE_LIST_FIELDS_BUSSINESS_FIRST: readonly FieldSpec[] = [...TRACE_LIST_ATTRIBUTES, BUSSINESS, TRACE_HEADERS];

/** A status packet's TraceHeaderList: no Bussiness (a status is about a document, not one). */
export const STATUS_TRACE_LIST_FIELDS: readonly FieldSpec[] = [...TRACE_LIST_ATTRIBUTES, TRACE_HEADERS];

export const STATUS_HEADER_FIELDS: readonly FieldSpec[] = [
  { xml: 'From', key: 'from', kind: 'struct', fields: ORGANIZATION_FIELDS },
  { xml: 'ResponseFor', key: 'responseFor', kind: 'struct', fields: RESPONSE_FOR_FIELDS },
  { xml: 'StaffInfo', key: 'staffInfo', kind: 'struct', fields: STAFF_INFO_FIELDS },
  text('StatusCode', 'statusCode'),
  text('Description', 'description'),
  text('Timestamp', 'timestamp'),
];

export const MANIFEST_FIELDS: readonly FieldSpec[] = [
  text('ContentId', 'contentId'),
  text('ContentType', 'contentType'),
  text('Description', 'description'),
  text('AttachmentName', 'attachmentName'),
];

/** Attachment children other than the bytes; `ContentTransferEncoded` follows them. */
export const ATTACHMENT_FIELDS: readonly FieldSpec[] = [
  text('ContentId', 'contentId'),
  text('AttachmentName', 'attachmentName'),
  text('Description', 'description'),
  text('ContentType', 'contentType'),
];
