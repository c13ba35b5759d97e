/**
 * Packets written by the national exchange SDK's own builder (test/fixtures/sdk-built) are what
 * an agency system on that SDK sends. lienthong must accept every field it writes: schema,
 * parser and validator, and rebuild such a packet without losing a field, an attribute or the
 * SDK's order of TraceHeaderList children.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildPacket,
  composeDocument,
  composeStatus,
  parsePacket,
  validatePacket,
  type DocumentPacket,
  type Packet,
  type StatusPacket,
} from '../../src/envelope/index.js';
import { elementTree } from '../helpers/element-tree.js';

const SDK_BUILT = fileURLToPath(new URL('../fixtures/sdk-built/', import.meta.url));
const XSD = fileURLToPath(new URL('../../schemas/edxml.xsd', import.meta.url));
const hasXmllint = existsSync('/usr/bin/xmllint');
const noXmllint = !hasXmllint && 'xmllint not installed';
/** A fixed clock after the packets' dates (10:00 on 1 December 2026 in Hà Nội). */
const now = new Date('2026-12-01T03:00:00Z');

/**
 * The warnings each packet deserves, as [code, path]: none. The SDK's builder writes four-group
 * organ ids, a DocumentId that agrees with the sender, Code and PromulgationDate, a DueDate on
 * the promulgation day, a manifest entry for its one attachment and a reason for its status.
 */
const EXPECTED_WARNINGS: Record<string, Array<[string, string]>> = {
  'sdk-edoc.edxml': [],
  'sdk-edoc-full.edxml': [],
  'sdk-status.edxml': [],
  'sdk-status-full.edxml': [],
};
const FILES = Object.keys(EXPECTED_WARNINGS);

const read = (name: string): string => readFileSync(join(SDK_BUILT, name), 'utf8');
const asDocument = (p: Packet): DocumentPacket => {
  if (p.kind !== 'document') throw new Error(`expected a document packet, got ${p.kind}`);
  return p;
};
const asStatus = (p: Packet): StatusPacket => {
  if (p.kind !== 'status') throw new Error(`expected a status packet, got ${p.kind}`);
  return p;
};

/** `xmllint --schema schemas/edxml.xsd` on a text: its exit status and what it said. */
function xmllint(xml: string): { status: number | null; stderr: string } {
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, '-'], { input: xml, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

t.test('the fixture folder holds exactly the four SDK-built packets', async (t) => {
  t.same(readdirSync(SDK_BUILT).sort(), [...FILES].sort());
});

for (const name of FILES) {
  t.test(`${name} is valid against schemas/edxml.xsd`, { skip: noXmllint }, async (t) => {
    const r = xmllint(read(name));
    t.equal(r.status, 0, 'xmllint accepts it', { stderr: r.stderr });
  });

  t.test(`${name} is read and accepted`, async (t) => {
    const result = validatePacket(parsePacket(read(name)), { now });
    t.same(result.errors, [], 'no error');
    t.same(
      result.warnings.map((w) => [w.code, w.path]),
      EXPECTED_WARNINGS[name],
      'exactly the expected warnings',
    );
  });

  t.test(`${name}: parse → build → parse keeps every field, attribute and the order`, async (t) => {
    const original = read(name);
    const packet = parsePacket(original);
    const built = buildPacket(packet);
    t.strictSame(parsePacket(built), packet, 'the rebuilt packet reads back as the same model');
    t.equal(buildPacket(parsePacket(built)), built, 'building is stable');
    t.same(elementTree(built), elementTree(original), 'element by element, in order: names, namespaces, attributes and text');
    if (hasXmllint) {
      const r = xmllint(built);
      t.equal(r.status, 0, 'the rebuilt packet is valid against schemas/edxml.xsd', { stderr: r.stderr });
    }
  });
}

t.test('the SDK fields are read as the wire carries them', async (t) => {
  const full = asDocument(parsePacket(read('sdk-edoc-full.edxml')));
  t.same(full.otherInfo.replyFors, ['12/STC-NS'], 'OtherInfo/ReplyFors');
  t.same(full.otherInfo.referenceCodes, ['12/STC-NS'], 'OtherInfo/ReferenceCodes');
  t.equal(full.otherInfo.direction, 'false', 'Direction, written between them, is still read');
  t.same(full.responseForTask, { taskCode: 'NV-001' }, 'ResponseForTask/TaskCode');
  t.equal(full.applicationType, 'QLVB');
  t.equal(full.steeringType, '0');
  t.same(full.toPlaces, ['Lưu VT'], 'ToPlaces, after the SDK fields');
  t.equal(full.traceHeaderListId, 'a1b2c3d4', 'TraceHeaderList/@id');
  t.equal(full.traceHeaderListVersion, '1.0', 'TraceHeaderList/@version');
  t.equal(full.bussinessFirst, true, 'Bussiness came before the TraceHeaders');
  t.same(full.traceHeaders, [{ organId: '000.00.01.H12', timestamp: '2026/11/30 19:28:21' }]);
  t.same(full.bussiness?.staffInfo, {
    department: 'Văn thư',
    departmentId: 'D01',
    staff: 'Trần Thị B',
    staffId: 'S01',
    email: 'vt@camau.gov.vn',
    mobile: '0912000001',
  });
  t.equal(full.attachments?.[0]?.contentType, 'application/zip');

  const common = asDocument(parsePacket(read('sdk-edoc.edxml')));
  t.equal(common.bussinessFirst, true, 'the common packet has the SDK order too');
  for (const key of ['traceHeaderListId', 'traceHeaderListVersion', 'responseForTask', 'applicationType'] as const) {
    t.equal(common[key], undefined, `no ${key} where the wire has none`);
  }
  t.equal(common.otherInfo.replyFors, undefined);
  t.equal(common.otherInfo.referenceCodes, undefined);

  const statusFull = asStatus(parsePacket(read('sdk-status-full.edxml')));
  t.equal(statusFull.staffInfo?.departmentId, 'D01', "a status's StaffInfo/DepartmentId");
  t.equal(statusFull.staffInfo?.staffId, 'S01', "a status's StaffInfo/StaffId");
  t.equal(statusFull.traceHeaders, undefined, 'no TraceHeaderList in a status from the SDK');
  const status = asStatus(parsePacket(read('sdk-status.edxml')));
  t.same(status.staffInfo, { department: 'Văn thư', staff: 'Trần Thị B', email: 'vt@camau.gov.vn', mobile: '0912000001' });
});

t.test('the comparison sees the order: without bussinessFirst the standard order is written', async (t) => {
  const original = read('sdk-edoc-full.edxml');
  const packet = asDocument(parsePacket(original));
  delete packet.bussinessFirst;
  const built = buildPacket(packet);
  t.notSame(elementTree(built), elementTree(original), 'the element trees differ');
  t.ok(built.indexOf('<edXML:TraceHeader>') < built.indexOf('<edXML:Bussiness>'), 'TraceHeader first');
  t.equal(asDocument(parsePacket(built)).bussinessFirst, undefined, 'and it reads back as the standard order');
  if (hasXmllint) t.equal(xmllint(built).status, 0, 'both orders are valid');
});

t.test("lienthong's own packets keep the standard order and can carry the SDK fields", async (t) => {
  const packet = composeDocument(
    {
      from: { organId: '000.00.01.H12' },
      to: [{ organId: '000.00.05.H12' }],
      code: { codeNumber: '126', codeNotation: 'UBND-VP' },
      subject: 'V/v trả lời nhiệm vụ',
      otherInfo: { replyFors: ['12/STC-NS', '14/STC-NS'], referenceCodes: ['7/UBND-VP'] },
      responseForTask: { taskCode: 'NV-001' },
      applicationType: 'QLVB',
      staffInfo: { department: 'Văn thư', departmentId: 'D01', staff: 'Trần Thị B', staffId: 'S01' },
    },
    now,
  );
  t.same(validatePacket(packet, { now }).errors, []);
  const built = buildPacket(packet);
  t.match(built, /<edXML:TraceHeaderList>\n/, 'no attribute on TraceHeaderList');
  t.ok(built.indexOf('<edXML:TraceHeader>') < built.indexOf('<edXML:Bussiness>'), 'TraceHeader before Bussiness');
  t.match(built, /<edXML:ReplyFors>12\/STC-NS<\/edXML:ReplyFors>\s*<edXML:ReplyFors>14\/STC-NS<\/edXML:ReplyFors>/, 'one ReplyFors per code');
  t.match(
    built,
    /<edXML:ResponseForTask>\s*<edXML:TaskCode>NV-001<\/edXML:TaskCode>\s*<\/edXML:ResponseForTask>\s*<edXML:ApplicationType>QLVB<\/edXML:ApplicationType>/,
    'ResponseForTask/TaskCode, then ApplicationType',
  );
  const back = asDocument(parsePacket(built));
  t.strictSame(back, packet, 'round trip');
  t.equal(back.bussinessFirst, undefined);
  if (hasXmllint) {
    const r = xmllint(built);
    t.equal(r.status, 0, 'valid against schemas/edxml.xsd', { stderr: r.stderr });
  }

  const empty = composeDocument(
    { from: { organId: '000.00.01.H12' }, to: [{ organId: '000.00.05.H12' }], code: { codeNumber: '1', codeNotation: 'A' }, subject: 'S', otherInfo: { replyFors: [], referenceCodes: [] } },
    now,
  );
  t.equal(empty.otherInfo.replyFors, undefined, 'an empty list is left out: nothing on the wire would say it was there');
  t.equal(empty.otherInfo.referenceCodes, undefined);
  t.strictSame(parsePacket(buildPacket(empty)), empty);

  const status = composeStatus(
    {
      from: { organId: '000.00.05.H12' },
      responseFor: { organId: '000.00.01.H12', documentId: '000.00.01.H12,2026/11/30,125/UBND-VP' },
      statusCode: '03',
      staffInfo: { department: 'Văn thư', departmentId: 'D01', staff: 'Trần Thị B', staffId: 'S01' },
    },
    now,
  );
  const statusXml = buildPacket(status);
  t.match(statusXml, /<edXML:Department>Văn thư<\/edXML:Department>\s*<edXML:DepartmentId>D01<\/edXML:DepartmentId>/);
  t.strictSame(parsePacket(statusXml), status, 'a status with the StaffInfo ids round-trips');
  if (hasXmllint) t.equal(xmllint(statusXml).status, 0, 'and is valid against schemas/edxml.xsd');
});

t.test('a peer that repeats ReplyFors and ReferenceCodes is read, not refused', async (t) => {
  const xml = read('sdk-edoc-full.edxml')
    .replace('<edXML:ReplyFors>12/STC-NS</edXML:ReplyFors>', '<edXML:ReplyFors>12/STC-NS</edXML:ReplyFors><edXML:ReplyFors>13/STC-NS</edXML:ReplyFors>')
    .replace('<edXML:ReferenceCodes>12/STC-NS</edXML:ReferenceCodes>', '<edXML:ReferenceCodes>12/STC-NS</edXML:ReferenceCodes><edXML:ReferenceCodes>5/UBND-VP</edXML:ReferenceCodes>');
  const packet = asDocument(parsePacket(xml));
  t.same(packet.otherInfo.replyFors, ['12/STC-NS', '13/STC-NS']);
  t.same(packet.otherInfo.referenceCodes, ['12/STC-NS', '5/UBND-VP']);
  t.same(validatePacket(packet, { now }).errors, []);
  t.same(elementTree(buildPacket(packet)), elementTree(xml), 'both are written back, in place');
  if (hasXmllint) t.equal(xmllint(xml).status, 0, 'the schema allows the repetition');
});

t.test('ResponseForTask without its TaskCode is an error', async (t) => {
  const xml = read('sdk-edoc-full.edxml').replace('<edXML:TaskCode>NV-001</edXML:TaskCode>', '');
  const result = validatePacket(parsePacket(xml), { now });
  t.same(
    result.errors.map((e) => `${e.code}@${e.path}`),
    ['REQUIRED@responseForTask.taskCode'],
  );
});

t.test('the schema stays strict around the new fields', { skip: noXmllint }, async (t) => {
  const full = read('sdk-edoc-full.edxml');
  const hop = '<edXML:TraceHeader><edXML:OrganId>000.00.90.H12</edXML:OrganId><edXML:Timestamp>2026/11/30 19:28:30</edXML:Timestamp></edXML:TraceHeader>';
  const refused: Array<[string, string, RegExp]> = [
    ['TraceHeaders on both sides of Bussiness', full.replace('<edXML:Bussiness>', `${hop}<edXML:Bussiness>`), /TraceHeader|Bussiness/],
    ['an unknown attribute on TraceHeaderList', full.replace('version="1.0">', 'version="1.0" hop="1">'), /hop/],
    ['ResponseForTask without TaskCode', full.replace('<edXML:TaskCode>NV-001</edXML:TaskCode>', ''), /ResponseForTask/],
    [
      'ApplicationType before SteeringType',
      full.replace('<edXML:ApplicationType>QLVB</edXML:ApplicationType>', '').replace('<edXML:SteeringType>', '<edXML:ApplicationType>QLVB</edXML:ApplicationType><edXML:SteeringType>'),
      /SteeringType/,
    ],
    ['ReplyFors after Direction', full.replace('<edXML:ReplyFors>12/STC-NS</edXML:ReplyFors>', '').replace('<edXML:ReferenceCodes>', '<edXML:ReplyFors>12/STC-NS</edXML:ReplyFors><edXML:ReferenceCodes>'), /ReplyFors/],
    ['an unknown element in StaffInfo', full.replace('<edXML:StaffId>S01</edXML:StaffId>', '<edXML:StaffCode>S01</edXML:StaffCode>'), /StaffCode/],
  ];
  for (const [what, xml, complaint] of refused) {
    t.not(xml, full, `${what}: the packet was changed`);
    const r = xmllint(xml);
    t.not(r.status, 0, `${what}: refused`);
    t.match(r.stderr, complaint, `${what}: xmllint names the element`);
  }
  t.equal(xmllint(full.replace('</edXML:TraceHeaderList>', `${hop}</edXML:TraceHeaderList>`)).status, 0, 'a hop appended after the SDK order is valid');
});
