/**
 * What lienthong writes, it reads back unchanged: parsePacket(buildPacket(x)) = x for every
 * packet it composes, whatever the text holds (Vietnamese, markup characters, "]]>", a literal
 * "&amp;", line breaks), for documents and status packets alike.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import {
  buildPacket,
  buildPacketBytes,
  composeDocument,
  composeStatus,
  parsePacket,
  type DocumentInput,
  type DocumentPacket,
  type Packet,
  type StatusPacket,
} from '../../src/envelope/index.js';

const now = new Date('2025-03-10T02:30:00Z'); // 09:30 in Hà Nội
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function roundTrips(t: Test, packet: Packet, what: string): void {
  const xml = buildPacket(packet);
  t.strictSame(parsePacket(xml), packet, what);
  t.equal(buildPacket(packet), xml, `${what}: building is deterministic`);
  t.ok(buildPacketBytes(packet).equals(Buffer.from(xml, 'utf8')), `${what}: built as bytes, the UTF-8 of that text`);
}

const minimal: DocumentInput = {
  from: { organId: '000.00.01.H12' },
  to: [{ organId: '000.00.00.G22' }],
  code: { codeNumber: '1', codeNotation: 'UBND-VP' },
  subject: 'V/v báo cáo',
};

t.test('a document with no optional field', async (t) => {
  const packet = composeDocument(minimal, now);
  t.same(packet.attachments, [], 'no attachment');
  roundTrips(t, packet, 'minimal document');
});

t.test('a document with attachments, including an empty one and arbitrary bytes', async (t) => {
  const all = new Uint8Array(256).map((_, i) => i);
  const packet = composeDocument(
    {
      ...minimal,
      attachments: [
        { name: 'Công văn số 1.pdf', content: bytes('%PDF-1.7 giả lập') },
        { name: 'empty.txt', content: new Uint8Array() },
        { name: 'all-bytes.bin', content: all, contentType: 'application/octet-stream', description: 'mọi giá trị byte' },
      ],
    },
    now,
  );
  roundTrips(t, packet, 'document with attachments');
  const back = parsePacket(buildPacket(packet)) as DocumentPacket;
  t.same([...(back.attachments?.[2]?.content ?? [])], [...all], 'every byte value survives base64');
});

t.test('built as bytes, an attachment of several encoding slices is its base64 whole, padding at the end only', async (t) => {
  // Two slices of 3 × 256 KiB and one byte more: "==" closes the text, nothing pads a slice.
  const content = new Uint8Array(randomBytes(2 * 3 * 256 * 1024 + 1));
  const packet = composeDocument({ ...minimal, subject: 'Bản vẽ thiết kế', attachments: [{ name: 'ban-ve.pdf', content }] }, now);
  const bytes = buildPacketBytes(packet);
  t.ok(bytes.equals(Buffer.from(buildPacket(packet), 'utf8')), 'the UTF-8 of the text');
  t.ok(bytes.includes(`>${Buffer.from(content).toString('base64')}</`), 'the base64 of the whole attachment, in one piece');
  t.equal(bytes.buffer.byteLength, bytes.byteLength, 'in a buffer of its own: it can move to a crypto worker');
  const parsed = parsePacket(bytes);
  t.ok(parsed.kind === 'document' && Buffer.from(parsed.attachments?.[0]?.content ?? []).equals(content), 'and it reads back to the same bytes');
});

t.test('a document with every optional field', async (t) => {
  const packet = composeDocument(
    {
      from: {
        organId: '000.00.01.H12',
        organizationInCharge: 'Ủy ban nhân dân tỉnh Cà Mau',
        organName: 'Văn phòng Ủy ban nhân dân tỉnh Cà Mau',
        organAdd: 'Số 2 Hùng Vương, Phường 5, TP Cà Mau',
        email: 'vanphong@camau.gov.vn',
        telephone: '0290 3831 071',
        fax: '0290 3831 072',
        website: 'https://camau.gov.vn',
      },
      to: [
        { organId: '000.00.00.G22', organName: 'Văn phòng Chính phủ' },
        { organId: '000.00.00.H53', organName: 'UBND tỉnh Tây Ninh', email: 'ubnd@tayninh.gov.vn' },
      ],
      code: { codeNumber: '123', codeNotation: 'UBND-KT' },
      subject: 'V/v triển khai trục liên thông văn bản',
      documentType: { type: '2', typeDetail: '1', typeName: 'Quyết định' },
      promulgationInfo: { place: 'Cà Mau', promulgationDate: '2025/03/07' },
      content: 'Nội dung tóm tắt',
      signerInfo: { competence: 'KT. CHỦ TỊCH', position: 'PHÓ CHỦ TỊCH', fullName: 'Nguyễn Văn A' },
      dueDate: '2025/03/31',
      priority: '3',
      otherInfo: {
        sphereOfPromulgation: 'Liên thông văn bản quốc gia',
        typerNotation: 'NVB',
        promulgationAmount: '10',
        pageAmount: '3',
        direction: 'true',
        replyFors: ['45/VPCP-KSTT', '46/VPCP-KSTT'],
        referenceCodes: ['12/UBND-KT'],
        appendixes: ['Phụ lục I', 'Phụ lục II'],
      },
      responseFor: [
        { organId: '000.00.00.G22', code: '45/VPCP-KSTT', documentId: '000.00.00.G22,2025/02/20,45/VPCP-KSTT', promulgationDate: '2025/02/20' },
      ],
      steeringType: '2',
      responseForTask: { taskCode: 'NV-2025-017' },
      applicationType: 'QLVB',
      toPlaces: ['Như trên', 'Lưu: VT'],
      bussiness: {
        bussinessDocType: '3',
        documentId: '000.00.01.H12,2025/03/01,100/UBND-KT',
        replacementInfoList: [{ documentId: '000.00.01.H12,2025/03/01,100/UBND-KT', organIdList: ['000.00.00.G22', '000.00.00.H53'] }],
        bussinessDocumentInfo: {
          documentInfo: '1',
          documentReceiver: '1',
          receiverList: [{ organId: '000.00.00.G22', receiverType: '0' }],
        },
        paper: '1',
      },
      staffInfo: { department: 'Phòng Hành chính', departmentId: 'HC', staff: 'Trần Thị B', staffId: 'NV017', email: 'b@camau.gov.vn', mobile: '0912000001' },
      traceHeaders: [
        { organId: '000.00.01.H12', timestamp: '2025/03/10 09:30:00' },
        { organId: '000.00.00.H12', timestamp: '2025/03/10 09:30:02' },
      ],
      attachments: [{ name: 'qd.pdf', content: bytes('pdf') }],
    },
    now,
  );
  for (const key of ['content', 'signerInfo', 'dueDate', 'responseFor', 'steeringType', 'responseForTask', 'applicationType', 'toPlaces', 'bussiness', 'manifest', 'attachments'] as const) {
    t.not(packet[key], undefined, `${key} is present`);
  }
  roundTrips(t, packet, 'document with every optional field');
  roundTrips(
    t,
    { ...packet, traceHeaderListId: 'a "quoted" <id> & more\tor\nless', traceHeaderListVersion: '1.0', bussinessFirst: true },
    'the same in the SDK order, with TraceHeaderList attributes that need escaping',
  );
});

t.test('empty strings and empty lists survive', async (t) => {
  const packet = composeDocument(
    { ...minimal, content: '', toPlaces: [], otherInfo: { appendixes: [], typerNotation: '' }, bussiness: { replacementInfoList: [] } },
    now,
  );
  roundTrips(t, packet, 'empty values');
});

t.test('Vietnamese text, in composed (NFC) and decomposed (NFD) form, survives unchanged', async (t) => {
  const nfc = 'Ủy ban nhân dân tỉnh Cà Mau — Quyết định về việc phê duyệt Đề án “Chuyển đổi số”';
  const nfd = nfc.normalize('NFD');
  t.not(nfc, nfd);
  roundTrips(t, composeDocument({ ...minimal, subject: nfc, content: nfd }, now), 'Vietnamese text');
});

t.test('characters that need escaping survive', async (t) => {
  const tricky = [
    'a & b',
    'literal &amp; stays literal',
    '&lt;b&gt; is not a tag',
    '1 < 2 > 0',
    '<edXML:Subject>forged</edXML:Subject>',
    'ends a CDATA ]]> here',
    ']]>',
    'double "quotes" and single \'quotes\'',
    'tab\there, newline\nhere, CRLF\r\nhere, lone CR\rhere',
    '  leading and trailing spaces  ',
    '&#x41; is not A',
    'emoji 📄 and astral 𝔸',
  ];
  tricky.forEach((text, i) => {
    roundTrips(
      t,
      composeDocument(
        {
          ...minimal,
          subject: text,
          from: { organId: '000.00.01.H12', organName: text },
          otherInfo: { appendixes: [text] },
          attachments: [{ name: text, description: text, content: bytes(text) }],
        },
        now,
      ),
      `text ${i + 1}: ${JSON.stringify(text)}`,
    );
  });
  const xml = buildPacket(composeDocument({ ...minimal, subject: 'literal &amp; stays literal' }, now));
  t.match(xml, '<edXML:Subject>literal &amp;amp; stays literal</edXML:Subject>', 'a literal "&amp;" is escaped once more');
});

t.test('status packets', async (t) => {
  const about = { organId: '000.00.01.H12', code: '1/UBND-VP', documentId: '000.00.01.H12,2025/03/10,1/UBND-VP', promulgationDate: '2025/03/10' };
  for (const statusCode of ['01', '02', '03', '04', '05', '06', '13', '15', '16']) {
    roundTrips(t, composeStatus({ from: { organId: '000.00.00.G22' }, responseFor: about, statusCode }, now), `status ${statusCode}, bare`);
  }
  roundTrips(
    t,
    composeStatus(
      {
        from: { organId: '000.00.00.G22', organName: 'Văn phòng Chính phủ', email: 'vpcp@chinhphu.vn' },
        responseFor: about,
        statusCode: '02',
        description: 'Từ chối: thiếu chữ ký số & <dấu> "đỏ"',
        staffInfo: { department: 'Văn thư', staff: 'Lê Văn C', email: 'c@chinhphu.vn', mobile: '0912' },
      },
      now,
    ),
    'status 02 with a reason and staff',
  );
  const withTrace: StatusPacket = {
    ...composeStatus({ from: { organId: '000.00.00.G22' }, responseFor: { organId: '000.00.01.H12' }, statusCode: '01' }, now),
    traceHeaders: [{ organId: '000.00.00.G22', timestamp: '2025/03/10 09:30:00' }],
  };
  roundTrips(t, withTrace, 'status with a TraceHeaderList');
  roundTrips(t, { ...withTrace, traceHeaderListId: 'x1', traceHeaderListVersion: '1.0' }, 'status with TraceHeaderList attributes');
  roundTrips(t, { ...withTrace, traceHeaders: [] }, 'status with an empty TraceHeaderList');
});

// --- Property-style loop --------------------------------------------------------------------

/** mulberry32: small, seeded, good enough to vary inputs reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = [
  ...'abcxyzABCXYZ0129 ',
  ...'ăâđêôơưĂÂĐÊÔƠƯàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ',
  '&', '<', '>', '"', "'", ';', '#', '/', ',', '.', '-', ':', '\t', '\n', '\r', '\u0085', '\u00a0', '\u2028', '\ufeff',
  '&amp;', '&lt;', ']]>', '<![CDATA[', '<!--', '-->', '<?pi?>', '&#65;', '📄', '𝔸', '\u0301', '\ufffd',
];

function randomPacket(rand: () => number): Packet {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const chance = (p: number): boolean => rand() < p;
  const text = (max = 12): string => Array.from({ length: Math.floor(rand() * (max + 1)) }, () => pick(ALPHABET)).join('');
  const maybe = <T>(make: () => T, p = 0.5): T | undefined => (chance(p) ? make() : undefined);
  const organId = (): string => `${pick(['000', '001', '123'])}.${pick(['00', '01', '31'])}.${pick(['00', '21'])}.${pick(['H12', 'G22', 'H53'])}`;
  const withoutUndefined = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const org = () =>
    withoutUndefined({ organId: organId(), organName: maybe(() => text()), organAdd: maybe(() => text()), email: maybe(() => text(), 0.3) });
  const staff = () =>
    withoutUndefined({ department: maybe(() => text()), departmentId: maybe(() => text(), 0.3), staff: maybe(() => text()), staffId: maybe(() => text(), 0.3), mobile: maybe(() => text(), 0.3) });

  if (chance(0.3)) {
    const status = composeStatus(
      withoutUndefined({
        from: org(),
        responseFor: withoutUndefined({ organId: organId(), code: maybe(() => text()), documentId: maybe(() => text()), promulgationDate: maybe(() => text(10)) }),
        statusCode: pick(['01', '02', '03', '04', '05', '06', '13', '15', '16']),
        description: maybe(() => text(40), 0.7),
        staffInfo: maybe(staff),
      }),
      now,
    );
    if (chance(0.3)) status.traceHeaders = Array.from({ length: Math.floor(rand() * 3) }, () => ({ organId: organId(), timestamp: text(19) }));
    return status;
  }
  const input: DocumentInput = withoutUndefined({
    from: org(),
    to: Array.from({ length: 1 + Math.floor(rand() * 3) }, org),
    code: { codeNumber: text(5), codeNotation: text(10) },
    subject: text(60),
    content: maybe(() => text(60)),
    dueDate: maybe(() => text(10)),
    priority: maybe(() => pick(['0', '1', '2', '3', '4'])),
    steeringType: maybe(() => pick(['0', '1', '2'])),
    toPlaces: maybe(() => Array.from({ length: Math.floor(rand() * 3) }, () => text())),
    signerInfo: maybe(() => withoutUndefined({ fullName: maybe(() => text()), position: maybe(() => text()) })),
    otherInfo: maybe(() =>
      withoutUndefined({
        appendixes: maybe(() => Array.from({ length: Math.floor(rand() * 3) }, () => text())),
        pageAmount: maybe(() => text(3)),
        replyFors: maybe(() => Array.from({ length: 1 + Math.floor(rand() * 2) }, () => text()), 0.3),
        referenceCodes: maybe(() => Array.from({ length: 1 + Math.floor(rand() * 2) }, () => text()), 0.3),
      }),
    ),
    responseForTask: maybe(() => ({ taskCode: text() }), 0.2),
    applicationType: maybe(() => text(), 0.2),
    responseFor: maybe(() => Array.from({ length: 1 + Math.floor(rand() * 2) }, () => withoutUndefined({ organId: organId(), documentId: maybe(() => text()) })), 0.3),
    bussiness: maybe(() => withoutUndefined({ bussinessDocType: pick(['0', '1', '2', '3']), documentId: maybe(() => text()) })),
    staffInfo: maybe(staff, 0.3),
    attachments: maybe(() =>
      Array.from({ length: Math.floor(rand() * 3) }, () => ({
        name: text(15),
        content: new Uint8Array(Math.floor(rand() * 40)).map(() => Math.floor(rand() * 256)),
      })),
    ),
  });
  const document = composeDocument(input, now);
  // What a packet from an SDK-based peer carries: its order and TraceHeaderList attributes.
  if (chance(0.2)) Object.assign(document, { bussinessFirst: true, traceHeaderListId: text(8), traceHeaderListVersion: '1.0' });
  return document;
}

t.test('200 seeded random packets survive build and parse', async (t) => {
  const rand = prng(0x1e7f0a6);
  let failures = 0;
  for (let i = 0; i < 200; i++) {
    const packet = randomPacket(rand);
    const back = parsePacket(buildPacket(packet));
    // Report only the first few differences in detail; the count tells the rest.
    if (failures < 3) {
      if (!t.strictSame(back, packet, `random packet ${i} (${packet.kind})`)) failures++;
    } else if (JSON.stringify(back) !== JSON.stringify(packet)) {
      failures++;
    }
  }
  t.equal(failures, 0, 'no random packet changed');
});
