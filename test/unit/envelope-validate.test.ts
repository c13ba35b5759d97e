/**
 * validatePacket, rule by rule, as the regulation and the peers state them. A finding reads
 * "CODE@path"; errors refuse the packet, warnings only report what real peers send.
 */
import t from 'tap';
import {
  composeDocument,
  composeStatus,
  FIELD_LIMITS,
  validatePacket,
  type DocumentInput,
  type DocumentPacket,
  type Packet,
  type StatusPacket,
  type ValidateOptions,
} from '../../src/envelope/index.js';
import { LtError } from '../../src/errors.js';

/** 09:30 on 10 March 2025 in Hà Nội (UTC+7). */
const now = new Date('2025-03-10T02:30:00Z');

function documentInput(): DocumentInput {
  return {
    from: { organId: '000.00.01.H12', organName: 'Văn phòng Ủy ban nhân dân tỉnh Cà Mau' },
    to: [{ organId: '000.00.00.G22', organName: 'Văn phòng Chính phủ' }],
    code: { codeNumber: '15', codeNotation: 'UBND-VP' },
    subject: 'V/v triển khai kết nối trục liên thông văn bản',
    attachments: [{ name: 'congvan.pdf', content: new Uint8Array([0x25, 0x50, 0x44, 0x46]) }],
  };
}

/** A document lienthong composes today: valid, nothing to report. */
function doc(change: Partial<DocumentInput> = {}): DocumentPacket {
  return composeDocument({ ...documentInput(), ...change }, now);
}

/** A status 03 about that document. */
function status(change: Partial<StatusPacket> = {}): StatusPacket {
  return {
    ...composeStatus(
      {
        from: { organId: '000.00.00.G22' },
        responseFor: { organId: '000.00.01.H12', code: '15/UBND-VP', documentId: '000.00.01.H12,2025/03/10,15/UBND-VP', promulgationDate: '2025/03/10' },
        // Composed with its own code: each code has its own default Description (or none).
        statusCode: change.statusCode ?? '03',
      },
      now,
    ),
    ...change,
  };
}

function check(packet: Packet, options: ValidateOptions = { now }): { errors: string[]; warnings: string[] } {
  const result = validatePacket(packet, options);
  return { errors: result.errors.map((f) => `${f.code}@${f.path}`), warnings: result.warnings.map((f) => `${f.code}@${f.path}`) };
}
const errorsOf = (packet: Packet, options?: ValidateOptions): string[] => check(packet, options).errors;
const warningsOf = (packet: Packet, options?: ValidateOptions): string[] => check(packet, options).warnings;
/** Drop a property the way a packet from the wire lacks an element. */
function unset(object: object, key: string): void {
  delete (object as Record<string, unknown>)[key];
}

t.test('what lienthong composes is valid, with nothing to report', async (t) => {
  t.same(check(doc()), { errors: [], warnings: [] });
  t.same(check(status()), { errors: [], warnings: [] });
});

t.test('a packet is valid exactly when it has no error; warnings do not refuse it', async (t) => {
  const warned = validatePacket(doc({ to: [{ organId: '28.22.H17' }] }), { now });
  t.equal(warned.valid, true);
  t.equal(warned.warnings[0]?.severity, 'warning');
  const refused = validatePacket(status({ statusCode: '02' }), { now });
  t.equal(refused.valid, false);
  t.match(refused.errors[0], { code: 'REASON_REQUIRED', path: 'description', severity: 'error', message: /reason/ });
});

// --- Organ id -------------------------------------------------------------------------------

t.test('organ ids', async (t) => {
  t.test('the standard four-group form V1V2V3.Z1Z2.Y1Y2.MX1X2 is accepted', async (t) => {
    for (const id of ['000.00.00.H12', '000.21.31.H53', '000.00.00.G22', 'A01.B2.C3.K99']) {
      t.same(check(doc({ to: [{ organId: id }] })), { errors: [], warnings: [] }, id);
    }
  });
  t.test('a three-group id as real peers send (28.22.H17) is accepted with a warning', async (t) => {
    t.same(check(doc({ to: [{ organId: '28.22.H17' }] })), { errors: [], warnings: ['ORGAN_ID_NONSTANDARD@to[0].organId'] });
    t.same(warningsOf(doc({ to: [{ organId: '01.H12' }] })), ['ORGAN_ID_NONSTANDARD@to[0].organId'], 'two groups too');
    t.same(warningsOf(doc({ to: [{ organId: '12345678.12345678.12345678.1234.H12' }] })), ['ORGAN_ID_NONSTANDARD@to[0].organId'], '35 characters is the most');
  });
  t.test('what is not an organ id is refused', async (t) => {
    for (const id of ['H12', '000.00.01.h12', '000-00-01-H12', '000.00.01.H1', '000.00.01.123', '000.00.01.H12 ', 'Sở Nội vụ', '12345678.12345678.12345678.12345.H12']) {
      t.same(errorsOf(doc({ to: [{ organId: id }] })), ['ORGAN_ID_FORMAT@to[0].organId'], JSON.stringify(id));
    }
  });
  t.test('every organ id of the packet is checked', async (t) => {
    const p = doc({
      from: { organId: 'x' },
      documentId: 'x,2025/03/10,15/UBND-VP',
      responseFor: [{ organId: 'x', documentId: '000.00.00.G22,2025/03/01,1/VPCP' }],
      traceHeaders: [{ organId: 'x', timestamp: '2025/03/10 09:30:00' }],
      bussiness: {
        bussinessDocType: '3',
        replacementInfoList: [{ documentId: '000.00.01.H12,2025/03/01,1/UBND-VP', organIdList: ['x'] }],
        bussinessDocumentInfo: { receiverList: [{ organId: 'x' }] },
      },
    });
    t.same(errorsOf(p), [
      'ORGAN_ID_FORMAT@from.organId',
      'ORGAN_ID_FORMAT@responseFor[0].organId',
      'ORGAN_ID_FORMAT@traceHeaders[0].organId',
      'ORGAN_ID_FORMAT@bussiness.replacementInfoList[0].organIdList[0]',
      'ORGAN_ID_FORMAT@bussiness.bussinessDocumentInfo.receiverList[0].organId',
    ]);
    t.same(errorsOf(status({ from: { organId: 'x' }, responseFor: { ...status().responseFor, organId: 'y' } })), [
      'ORGAN_ID_FORMAT@from.organId',
      'ORGAN_ID_FORMAT@responseFor.organId',
    ]);
  });
});

// --- Value domains --------------------------------------------------------------------------

t.test('Priority (độ khẩn) is 0 thường, 1 Khẩn, 2 Thượng khẩn, 3 Hỏa tốc or 4 Hỏa tốc hẹn giờ', async (t) => {
  for (const priority of ['0', '1', '2', '3', '4']) t.same(errorsOf(doc({ priority })), [], `priority ${priority}`);
  for (const priority of ['5', '-1', '01', '1.0', 'Khẩn']) {
    t.same(errorsOf(doc({ priority })), ['PRIORITY_DOMAIN@otherInfo.priority'], `priority ${priority} is refused`);
  }
});

t.test('SteeringType is 0 none, 1 directive or 2 directive requiring a report', async (t) => {
  for (const steeringType of ['0', '1', '2']) t.same(errorsOf(doc({ steeringType })), [], `steering ${steeringType}`);
  for (const steeringType of ['3', '', 'true']) t.same(errorsOf(doc({ steeringType })), ['STEERING_DOMAIN@steeringType'], `steering "${steeringType}" is refused`);
});

t.test('BussinessDocType is 0 new, 1 revoke, 2 update or 3 replace', async (t) => {
  const replaced = [{ documentId: '000.00.01.H12,2025/03/01,1/UBND-VP' }];
  for (const bussinessDocType of ['0', '1', '2', '3']) {
    const p = doc({ bussiness: { bussinessDocType, documentId: '000.00.01.H12,2025/03/01,1/UBND-VP', replacementInfoList: replaced } });
    t.same(errorsOf(p), [], `type ${bussinessDocType}`);
  }
  t.same(errorsOf(doc({ bussiness: { bussinessDocType: '4' } })), ['BUSINESS_TYPE_DOMAIN@bussiness.bussinessDocType']);
});

t.test('Paper is 0 or 1 (1: a paper original also travels)', async (t) => {
  t.same(errorsOf(doc({ bussiness: { paper: '1' } })), []);
  t.same(errorsOf(doc({ bussiness: { paper: '0' } })), []);
  t.same(errorsOf(doc({ bussiness: { paper: '2' } })), ['PAPER_DOMAIN@bussiness.paper']);
});

t.test('StatusCode is one of 01 02 03 04 05 06 13 15 16', async (t) => {
  for (const statusCode of ['01', '03', '04', '05', '06', '15']) t.same(errorsOf(status({ statusCode })), [], statusCode);
  for (const statusCode of ['02', '13', '16']) t.same(errorsOf(status({ statusCode, description: 'Lý do' })), [], statusCode);
  for (const statusCode of ['07', '1', '14', '00']) t.same(errorsOf(status({ statusCode })), ['STATUS_CODE_DOMAIN@statusCode'], `${statusCode} is refused`);
});

t.test('amounts are whole numbers and Direction is a boolean', async (t) => {
  t.same(errorsOf(doc({ otherInfo: { promulgationAmount: '10', pageAmount: '3', direction: 'false' } })), []);
  for (const direction of ['true', 'false', '0', '1']) t.same(errorsOf(doc({ otherInfo: { direction } })), [], `direction ${direction}`);
  t.same(errorsOf(doc({ otherInfo: { promulgationAmount: 'mười', pageAmount: '2.5', direction: 'yes' } })), [
    'NUMBER_FORMAT@otherInfo.promulgationAmount',
    'NUMBER_FORMAT@otherInfo.pageAmount',
    'BOOLEAN_FORMAT@otherInfo.direction',
  ]);
});

// --- Field lengths --------------------------------------------------------------------------

const LENGTH_RULES: Array<{ path: string; limit: number; fill: string; set: (value: string) => Packet }> = [
  { path: 'code.codeNumber', limit: FIELD_LIMITS.codeNumber, fill: '1', set: (v) => doc({ code: { codeNumber: v, codeNotation: 'UBND-VP' } }) },
  { path: 'code.codeNotation', limit: FIELD_LIMITS.codeNotation, fill: 'Đ', set: (v) => doc({ code: { codeNumber: '15', codeNotation: v } }) },
  { path: 'subject', limit: FIELD_LIMITS.subject, fill: 'ệ', set: (v) => doc({ subject: v }) },
  { path: 'content', limit: FIELD_LIMITS.content, fill: 'ữ', set: (v) => doc({ content: v }) },
  { path: 'from.organName', limit: FIELD_LIMITS.organName, fill: 'Ủ', set: (v) => doc({ from: { organId: '000.00.01.H12', organName: v } }) },
  { path: 'to[0].organName', limit: FIELD_LIMITS.organName, fill: 'ă', set: (v) => doc({ to: [{ organId: '000.00.00.G22', organName: v }] }) },
  { path: 'documentType.typeName', limit: FIELD_LIMITS.typeName, fill: 'ơ', set: (v) => doc({ documentType: { type: '1', typeName: v } }) },
  { path: 'otherInfo.sphereOfPromulgation', limit: FIELD_LIMITS.sphereOfPromulgation, fill: 'ư', set: (v) => doc({ otherInfo: { sphereOfPromulgation: v } }) },
  { path: 'otherInfo.typerNotation', limit: FIELD_LIMITS.typerNotation, fill: 'Â', set: (v) => doc({ otherInfo: { typerNotation: v } }) },
  { path: 'description', limit: FIELD_LIMITS.reason, fill: 'ố', set: (v) => status({ statusCode: '02', description: v }) },
];

t.test('field limits the peer hubs enforce, counted in characters', async (t) => {
  t.same(
    LENGTH_RULES.map((r) => [r.path, r.limit]),
    [
      ['code.codeNumber', 11],
      ['code.codeNotation', 30],
      ['subject', 500],
      ['content', 500],
      ['from.organName', 200],
      ['to[0].organName', 200],
      ['documentType.typeName', 100],
      ['otherInfo.sphereOfPromulgation', 100],
      ['otherInfo.typerNotation', 10],
      ['description', 1000],
    ],
    'the limits of edxml.md',
  );
  for (const rule of LENGTH_RULES) {
    const at = errorsOf(rule.set(rule.fill.repeat(rule.limit))).filter((e) => e.endsWith(`@${rule.path}`));
    t.same(at, [], `${rule.path}: ${rule.limit} characters are accepted`);
    const over = errorsOf(rule.set(rule.fill.repeat(rule.limit + 1))).filter((e) => e.endsWith(`@${rule.path}`));
    t.same(over, [`TOO_LONG@${rule.path}`], `${rule.path}: ${rule.limit + 1} characters are refused`);
  }
  t.same(errorsOf(doc({ subject: '𝔸'.repeat(500) })), [], 'a character outside the BMP counts once');
});

// --- Required fields ------------------------------------------------------------------------

t.test('required fields of a document', async (t) => {
  const cases: Array<[string, (p: DocumentPacket) => void, string]> = [
    ['the sender', (p) => unset(p, 'from'), 'REQUIRED@from'],
    ['the sender organ id', (p) => (p.from.organId = ''), 'REQUIRED@from.organId'],
    ['a recipient', (p) => (p.to = []), 'REQUIRED@to'],
    ['the recipient organ id', (p) => unset(p.to[0] as object, 'organId'), 'REQUIRED@to[0].organId'],
    ['the number (số)', (p) => (p.code.codeNumber = ''), 'REQUIRED@code.codeNumber'],
    ['the notation (ký hiệu)', (p) => (p.code.codeNotation = ' '), 'REQUIRED@code.codeNotation'],
    ['the Code element', (p) => unset(p, 'code'), 'REQUIRED@code'],
    ['the promulgation date', (p) => unset(p.promulgationInfo, 'promulgationDate'), 'REQUIRED@promulgationInfo.promulgationDate'],
    ['PromulgationInfo', (p) => unset(p, 'promulgationInfo'), 'REQUIRED@promulgationInfo'],
    ['the DocumentId', (p) => (p.documentId = ''), 'REQUIRED@documentId'],
    ['the document type', (p) => (p.documentType = { type: '' }), 'REQUIRED@documentType.type'],
    ['DocumentType', (p) => unset(p, 'documentType'), 'REQUIRED@documentType'],
    ['the subject (trích yếu)', (p) => (p.subject = '   '), 'REQUIRED@subject'],
    ['the priority', (p) => (p.otherInfo.priority = ''), 'REQUIRED@otherInfo.priority'],
    ['OtherInfo', (p) => unset(p, 'otherInfo'), 'REQUIRED@otherInfo'],
    ['the business type', (p) => unset(p.bussiness as object, 'bussinessDocType'), 'REQUIRED@bussiness.bussinessDocType'],
    ['a hop timestamp', (p) => ((p.traceHeaders[0] as { timestamp: string }).timestamp = ''), 'REQUIRED@traceHeaders[0].timestamp'],
    ['the answered DocumentId', (p) => (p.responseFor = [{ organId: '000.00.00.G22' }]), 'REQUIRED@responseFor[0].documentId'],
    [
      'the replaced DocumentId',
      (p) => (p.bussiness = { bussinessDocType: '3', replacementInfoList: [{ documentId: '' }] }),
      'REQUIRED@bussiness.replacementInfoList[0].documentId',
    ],
    ['the manifest ContentId', (p) => ((p.manifest?.[0] as { contentId: string }).contentId = ''), 'REQUIRED@manifest[0].contentId'],
  ];
  for (const [what, mutate, expected] of cases) {
    const p = doc();
    mutate(p);
    t.ok(errorsOf(p).includes(expected), `a document without ${what} is refused (${expected})`);
  }
  const p = doc();
  (p.attachments?.[0] as { contentId: string }).contentId = '';
  t.same(errorsOf(p), ['REQUIRED@attachments[0].contentId', 'ATTACHMENT_MISSING@manifest[0]'], 'an attachment without ContentId');
});

t.test('required fields of a status', async (t) => {
  const cases: Array<[string, (p: StatusPacket) => void, string]> = [
    ['the sender', (p) => unset(p, 'from'), 'REQUIRED@from'],
    ['ResponseFor', (p) => unset(p, 'responseFor'), 'REQUIRED@responseFor'],
    ['the organ id it is about', (p) => (p.responseFor.organId = ''), 'REQUIRED@responseFor.organId'],
    ['the DocumentId it is about', (p) => unset(p.responseFor, 'documentId'), 'REQUIRED@responseFor.documentId'],
    ['a status code', (p) => (p.statusCode = ''), 'REQUIRED@statusCode'],
    ['a timestamp', (p) => unset(p, 'timestamp'), 'REQUIRED@timestamp'],
  ];
  for (const [what, mutate, expected] of cases) {
    const p = status();
    mutate(p);
    t.same(errorsOf(p), [expected], `a status without ${what} is refused`);
  }
});

// --- Dates ----------------------------------------------------------------------------------

t.test('dates are real yyyy/MM/dd dates and times yyyy/MM/dd HH:mm:ss', async (t) => {
  for (const date of ['2025/02/29', '2025-03-10', '10/03/2025', '2025/3/10', '2025/13/01']) {
    t.same(errorsOf(doc({ promulgationInfo: { promulgationDate: date }, documentId: `000.00.01.H12,${date},15/UBND-VP` })), ['DATE_FORMAT@promulgationInfo.promulgationDate'], date);
  }
  t.same(errorsOf(doc({ promulgationInfo: { promulgationDate: '2024/02/29' } })), [], '29 February of a leap year');
  t.same(errorsOf(doc({ dueDate: '2025/04/31' })), ['DATE_FORMAT@dueDate']);
  t.same(errorsOf(doc({ responseFor: [{ organId: '000.00.00.G22', documentId: '000.00.00.G22,2025/03/01,1/VPCP', promulgationDate: '01/03/2025' }] })), [
    'DATE_FORMAT@responseFor[0].promulgationDate',
  ]);
  t.same(errorsOf(status({ responseFor: { ...status().responseFor, promulgationDate: '2025/3/1' } })), ['DATE_FORMAT@responseFor.promulgationDate']);
  for (const timestamp of ['2025/03/10 24:00:00', '2025/03/10T09:30:00', '2025/03/10 9:30:00', '2025/02/30 09:30:00']) {
    t.same(errorsOf(doc({ traceHeaders: [{ organId: '000.00.01.H12', timestamp }] })), ['TIMESTAMP_FORMAT@traceHeaders[0].timestamp'], timestamp);
    t.same(errorsOf(status({ timestamp })), ['TIMESTAMP_FORMAT@timestamp'], `status ${timestamp}`);
  }
});

t.test('a document is not promulgated in the future (Vietnamese local time, UTC+7)', async (t) => {
  const dated = (promulgationDate: string): DocumentPacket => doc({ promulgationInfo: { promulgationDate } });
  t.same(errorsOf(dated('2025/03/10')), [], 'today is accepted');
  t.same(errorsOf(dated('2025/03/09')), [], 'yesterday is accepted');
  t.same(errorsOf(dated('2025/03/11')), ['DATE_IN_FUTURE@promulgationInfo.promulgationDate'], 'tomorrow is refused');

  const lastSecondOf9March = new Date('2025-03-09T16:59:59Z'); // 23:59:59 in Hà Nội
  const midnightOf10March = new Date('2025-03-09T17:00:00Z'); // 00:00:00 in Hà Nội, still 9 March in UTC
  t.same(errorsOf(dated('2025/03/10'), { now: lastSecondOf9March }), ['DATE_IN_FUTURE@promulgationInfo.promulgationDate'], 'at 23:59:59 on 9 March, 10 March is still the future');
  t.same(errorsOf(dated('2025/03/10'), { now: midnightOf10March }), [], 'from 00:00 on 10 March in Hà Nội it is today, though UTC still says 9 March');
  t.same(errorsOf(dated('2025/03/11'), { now: new Date('2025-03-10T16:59:59Z') }), ['DATE_IN_FUTURE@promulgationInfo.promulgationDate'], 'late on 10 March UTC is still 10 March… until 17:00 UTC');
  t.same(errorsOf(dated('2025/03/11'), { now: new Date('2025-03-10T17:00:00Z') }), [], '…when 11 March begins in Hà Nội');
});

t.test('a due date before the promulgation date is reported', async (t) => {
  t.same(check(doc({ dueDate: '2025/03/09' })), { errors: [], warnings: ['DUE_BEFORE_PROMULGATION@dueDate'] });
  t.same(check(doc({ dueDate: '2025/03/10' })), { errors: [], warnings: [] });
});

// --- DocumentId -----------------------------------------------------------------------------

t.test('DocumentId is "{senderOrganId},{yyyy/MM/dd},{number}/{notation}"', async (t) => {
  for (const documentId of ['000.00.01.H12-2025/03/10-15/UBND-VP', '000.00.01.H12,2025/03/10', '000.00.01.H12,,15/UBND-VP', 'a,b,c,d']) {
    t.same(errorsOf(doc({ documentId })), ['DOCUMENT_ID_FORMAT@documentId'], documentId);
  }
  t.same(check(doc({ documentId: '000.00.00.G22,2025/03/10,15/UBND-VP' })), { errors: [], warnings: ['DOCUMENT_ID_SENDER@documentId'] }, 'another sender');
  t.same(check(doc({ documentId: '000.00.01.H12,2025/03/09,15/UBND-VP' })), { errors: [], warnings: ['DOCUMENT_ID_DATE@documentId'] }, 'another date');
  t.same(check(doc({ documentId: '000.00.01.H12,2025/02/30,15/UBND-VP' })), { errors: [], warnings: ['DOCUMENT_ID_DATE@documentId'] }, 'no such date');
  t.same(check(doc({ documentId: '000.00.01.H12,2025/03/10,16/UBND-VP' })), { errors: [], warnings: ['DOCUMENT_ID_CODE@documentId'] }, 'another number');
  t.same(errorsOf(status({ responseFor: { organId: '000.00.01.H12', documentId: '15/UBND-VP' } })), ['DOCUMENT_ID_FORMAT@responseFor.documentId'], 'in a status');
  t.same(check(doc({ bussiness: { bussinessDocType: '2', documentId: 'not an id' } })), { errors: ['DOCUMENT_ID_FORMAT@bussiness.documentId'], warnings: [] }, 'in Bussiness');
  t.same(check(doc({ bussiness: { bussinessDocType: '2', documentId: '000.00.01.H12,2014/02/30,1/UBND-VP' } })), { errors: [], warnings: ['DOCUMENT_ID_DATE@bussiness.documentId'] });
});

t.test('CodeNumber (số) is a number', async (t) => {
  t.same(check(doc({ code: { codeNumber: '74fass22', codeNotation: 'UBND-VP' } })), { errors: [], warnings: ['CODE_NUMBER_FORMAT@code.codeNumber'] });
  t.same(check(doc({ code: { codeNumber: '01', codeNotation: 'UBND-VP' } })), { errors: [], warnings: [] }, 'numbering restarts at 01 each year');
});

// --- Recipients -----------------------------------------------------------------------------

t.test('no recipient is listed twice', async (t) => {
  const p = doc({ to: [{ organId: '000.00.00.G22' }, { organId: '000.00.00.H53' }, { organId: '000.00.00.G22' }] });
  t.same(errorsOf(p), ['RECIPIENT_DUPLICATE@to[2].organId']);
});

t.test('a sender sending to itself is reported', async (t) => {
  t.same(check(doc({ to: [{ organId: '000.00.00.G22' }, { organId: '000.00.01.H12' }] })), { errors: [], warnings: ['RECIPIENT_IS_SENDER@to[1].organId'] });
});

// --- Trace and business ---------------------------------------------------------------------

t.test('a packet without a hop is reported', async (t) => {
  t.same(check(doc({ traceHeaders: [] })), { errors: [], warnings: ['TRACE_MISSING@traceHeaders'] });
});

t.test('a packet without Bussiness is treated as new and reported', async (t) => {
  const p = doc();
  unset(p, 'bussiness');
  t.same(check(p), { errors: [], warnings: ['BUSSINESS_MISSING@bussiness'] });
});

t.test('a replacement names the document it replaces in ReplacementInfoList', async (t) => {
  t.same(errorsOf(doc({ bussiness: { bussinessDocType: '3' } })), ['REPLACEMENT_MISSING@bussiness.replacementInfoList'], 'without a list');
  t.same(errorsOf(doc({ bussiness: { bussinessDocType: '3', replacementInfoList: [] } })), ['REPLACEMENT_MISSING@bussiness.replacementInfoList'], 'with an empty list');
  t.same(errorsOf(doc({ bussiness: { bussinessDocType: '3', replacementInfoList: [{ documentId: '000.00.01.H12,2025/03/01,1/UBND-VP', organIdList: ['000.00.00.G22'] }] } })), []);
});

t.test('an update names the updated document in Bussiness/DocumentId', async (t) => {
  t.same(check(doc({ bussiness: { bussinessDocType: '2' } })), { errors: [], warnings: ['UPDATE_TARGET_MISSING@bussiness.documentId'] });
  t.same(check(doc({ bussiness: { bussinessDocType: '2', documentId: '000.00.01.H12,2025/03/01,1/UBND-VP' } })), { errors: [], warnings: [] });
});

// --- Manifest and attachments ---------------------------------------------------------------

t.test('the manifest and the attachments agree', async (t) => {
  const missing = doc();
  missing.attachments = [];
  t.same(errorsOf(missing), ['ATTACHMENT_MISSING@manifest[0]'], 'the manifest announces an attachment that is not there');

  const unannounced = doc();
  unannounced.manifest = [];
  t.same(check(unannounced), { errors: [], warnings: ['ATTACHMENT_NOT_IN_MANIFEST@attachments[0]'] }, 'an attachment the manifest does not list');

  const twice = doc({ attachments: [{ name: 'a.pdf', content: new Uint8Array([1]) }, { name: 'b.pdf', content: new Uint8Array([2]) }] });
  (twice.attachments?.[1] as { contentId: string }).contentId = 'cid:1';
  t.same(errorsOf(twice), ['ATTACHMENT_DUPLICATE@attachments[1].contentId', 'ATTACHMENT_MISSING@manifest[1]'], 'two attachments with one ContentId');

  const none = doc({ attachments: [] });
  t.same(check(none), { errors: [], warnings: [] }, 'no attachment at all is fine');
});

// --- Status reasons -------------------------------------------------------------------------

t.test('a status 02 (rejected) without a reason is refused', async (t) => {
  t.same(errorsOf(status({ statusCode: '02' })), ['REASON_REQUIRED@description']);
  t.same(errorsOf(status({ statusCode: '02', description: '  \n ' })), ['REASON_REQUIRED@description'], 'blank is no reason');
  t.same(errorsOf(status({ statusCode: '02', description: 'Sai thể thức văn bản' })), []);
});

t.test('a recall request 13 and a recall refusal 16 need a reason too', async (t) => {
  for (const statusCode of ['13', '16']) {
    t.same(errorsOf(status({ statusCode })), ['REASON_REQUIRED@description'], `${statusCode} without a reason`);
    t.same(errorsOf(status({ statusCode, description: 'Lý do' })), [], `${statusCode} with a reason`);
  }
});

t.test('the other statuses need no reason', async (t) => {
  for (const statusCode of ['01', '03', '04', '05', '06', '15']) t.same(errorsOf(status({ statusCode })), [], statusCode);
});

// --- Secrecy --------------------------------------------------------------------------------

t.test('documents carrying a secrecy mark (độ mật) are refused', async (t) => {
  for (const subject of ['MẬT', 'MẬT - V/v phương án bảo vệ', '(TỐI MẬT) V/v kế hoạch', 'Độ mật: Tuyệt mật', 'V/v kế hoạch [TUYỆT MẬT]', 'MẬT'.normalize('NFD')]) {
    t.same(errorsOf(doc({ subject })), ['SECRECY_MARK@subject'], JSON.stringify(subject));
  }
  const everywhere = doc({
    content: 'TỐI MẬT',
    documentType: { type: '1', typeName: '(MẬT)' },
    code: { codeNumber: '15', codeNotation: 'MẬT/UBND' },
    otherInfo: { appendixes: ['Phụ lục (TUYỆT MẬT)'] },
    attachments: [{ name: '(MẬT) bao-cao.pdf', content: new Uint8Array([1]), description: 'Độ mật: Mật' }],
  });
  t.same(
    errorsOf(everywhere),
    [
      'SECRECY_MARK@content',
      'SECRECY_MARK@documentType.typeName',
      'SECRECY_MARK@code.codeNotation',
      'SECRECY_MARK@otherInfo.appendixes[0]',
      'SECRECY_MARK@attachments[0].attachmentName',
      'SECRECY_MARK@attachments[0].description',
    ],
    'in every text field a stamp can sit in',
  );
});

t.test('the words "bí mật" and "mật khẩu" in a subject are not secrecy marks', async (t) => {
  for (const subject of [
    'V/v bảo vệ bí mật nhà nước',
    'V/v đổi mật khẩu hệ thống quản lý văn bản',
    'Hướng dẫn thi hành Luật Bảo vệ BÍ MẬT nhà nước',
    'MẬT KHẨU HỆ THỐNG',
    'Mật độ dân số năm 2024',
    'Độ mật: Thường',
  ]) {
    t.same(errorsOf(doc({ subject })), [], JSON.stringify(subject));
  }
});

t.test('composing a document classified Mật, Tối mật or Tuyệt mật throws PACKET_SECRET', async (t) => {
  for (const secrecy of ['Mật', 'Tối mật', 'TUYỆT MẬT', 'mật']) {
    let thrown: unknown;
    try {
      doc({ secrecy });
    } catch (error) {
      thrown = error;
    }
    t.ok(thrown instanceof LtError, `${secrecy}: an LtError`);
    t.match(thrown, { code: 'PACKET_SECRET', context: { path: 'secrecy' } }, `${secrecy}: PACKET_SECRET`);
  }
  for (const secrecy of [undefined, '', '0', 'Thường', 'none', 'KHÔNG']) {
    t.doesNotThrow(() => doc(secrecy === undefined ? {} : { secrecy }), `secrecy ${JSON.stringify(secrecy)} is not a classification`);
  }
});

t.test('every composed status carries StaffInfo and a Description peers can show; a reason is never invented', async (t) => {
  const from = { organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' };
  const responseFor = { organId: '000.00.01.H12', documentId: '000.00.01.H12,2025/03/10,15/UBND-VP' };
  for (const code of ['01', '03', '04', '05', '06', '15']) {
    const s = composeStatus({ from, responseFor, statusCode: code }, now);
    t.same(s.staffInfo, { department: 'Văn thư', staff: 'Sở Tài chính tỉnh Cà Mau' }, `${code}: the văn thư of the sender by default`);
    t.ok(s.description && s.description.length > 3, `${code}: a default Vietnamese Description ("${s.description}")`);
    t.equal(validatePacket(s, { now }).valid, true, `${code}: valid`);
  }
  for (const code of ['02', '13', '16']) {
    const s = composeStatus({ from, responseFor, statusCode: code }, now);
    t.equal(s.description, undefined, `${code}: no default stands in for a reason`);
    t.match(validatePacket(s, { now }).errors[0], { code: 'REASON_REQUIRED' }, `${code}: refused without one`);
  }
  const staff = { department: 'Phòng Hành chính', departmentId: 'D01', staff: 'Trần Thị B', staffId: 'S01' };
  t.same(composeStatus({ from, responseFor, statusCode: '03', staffInfo: staff, description: 'Đã vào sổ' }, now), {
    kind: 'status',
    from,
    responseFor,
    staffInfo: staff,
    statusCode: '03',
    description: 'Đã vào sổ',
    timestamp: composeStatus({ from, responseFor, statusCode: '03' }, now).timestamp,
  }, 'what the caller gives is kept');
});
