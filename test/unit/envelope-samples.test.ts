/**
 * The public sample packets of the government exchange SDK (test/fixtures/samples) are what real
 * peers send. lienthong must read every one of them, accept them (with the warnings their
 * deviations deserve, and no error), and write them back in a form that says the same thing.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildPacket,
  parsePacket,
  validatePacket,
  type DocumentPacket,
  type Packet,
  type StatusPacket,
} from '../../src/envelope/index.js';
import { elementTree } from '../helpers/element-tree.js';

const SAMPLES = fileURLToPath(new URL('../fixtures/samples/', import.meta.url));
const XSD = fileURLToPath(new URL('../../schemas/edxml.xsd', import.meta.url));
const hasXmllint = existsSync('/usr/bin/xmllint');
/** A fixed clock, after every sample's dates. */
const now = new Date('2025-06-01T03:00:00Z');

/**
 * Children whose order is free (xs:all in schemas/edxml.xsd): the public status samples list
 * them in another order than lienthong writes.
 */
const ORDER_FREE_PARENTS = new Set(['From', 'To', 'ResponseFor', 'StaffInfo']);

const read = (name: string): Buffer => readFileSync(join(SAMPLES, name));
const parse = (name: string): Packet => parsePacket(read(name));
const asDocument = (p: Packet): DocumentPacket => {
  if (p.kind !== 'document') throw new Error(`expected a document packet, got ${p.kind}`);
  return p;
};
const asStatus = (p: Packet): StatusPacket => {
  if (p.kind !== 'status') throw new Error(`expected a status packet, got ${p.kind}`);
  return p;
};

/**
 * The warnings each sample deserves, as [code, path], read off the sample text:
 * - edoc_new: recipient 28.22.H17 has three groups; CodeNumber "74fass22" is not a number; its
 *   DocumentId "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT" names another sender (the From is
 *   002.00.20.H13), another date (PromulgationDate 2019/01/16) and another number (7816); the
 *   DueDate 2018/09/28 is before the promulgation; Bussiness/DocumentId has the date 2014/02/30,
 *   which does not exist.
 * - edoc_replacement, edoc_revocation: DocumentId dated 2015/09/30, PromulgationDate 2018/09/28.
 * - edoc_update: the same, plus Bussiness/DocumentId dated 2014/02/30.
 * - the four status packets: nothing to say.
 */
const EXPECTED_WARNINGS: Record<string, Array<[string, string]>> = {
  'edoc_new.edxml': [
    ['ORGAN_ID_NONSTANDARD', 'to[0].organId'],
    ['CODE_NUMBER_FORMAT', 'code.codeNumber'],
    ['DOCUMENT_ID_SENDER', 'documentId'],
    ['DOCUMENT_ID_DATE', 'documentId'],
    ['DOCUMENT_ID_CODE', 'documentId'],
    ['DUE_BEFORE_PROMULGATION', 'dueDate'],
    ['DOCUMENT_ID_DATE', 'bussiness.documentId'],
  ],
  'edoc_replacement.edxml': [['DOCUMENT_ID_DATE', 'documentId']],
  'edoc_revocation.edxml': [['DOCUMENT_ID_DATE', 'documentId']],
  'edoc_update.edxml': [
    ['DOCUMENT_ID_DATE', 'documentId'],
    ['DOCUMENT_ID_DATE', 'bussiness.documentId'],
  ],
  'status.edxml': [],
  'status_cancellation_13.edxml': [],
  'status_change-acceptance_15.edxml': [],
  'status_rejection_02.edxml': [],
};
const SAMPLE_FILES = Object.keys(EXPECTED_WARNINGS);

t.test('the fixture folder holds exactly the 8 public samples', async (t) => {
  t.same(readdirSync(SAMPLES).sort(), [...SAMPLE_FILES].sort());
});

for (const name of SAMPLE_FILES) {
  t.test(`${name} is read and accepted`, async (t) => {
    const result = validatePacket(parse(name), { now });
    t.same(result.errors, [], 'no error');
    t.ok(result.valid);
    t.same(
      result.warnings.map((w) => [w.code, w.path]),
      EXPECTED_WARNINGS[name],
      'exactly the warnings its deviations deserve',
    );
  });
}

t.test('the samples are read field by field as the wire carries them', async (t) => {
  const neu = asDocument(parse('edoc_new.edxml'));
  t.equal(neu.from.organId, '002.00.20.H13');
  t.equal(neu.to.length, 1);
  t.equal(neu.to[0]?.organizationInCharge, ' UBND xã Hòa Sơn - UBND huyện Hòa Vang - Thành phố Đà Nẵng', 'leading space kept');
  t.same(neu.code, { codeNumber: '74fass22', codeNotation: 'VPCP-TTĐT' });
  t.same(neu.promulgationInfo, { place: 'Hà Nội', promulgationDate: '2019/01/16' });
  t.same(neu.otherInfo.appendixes, ['Công văn về việc kết nối, liên thông phần mềm quản lý văn bản']);
  t.same(neu.toPlaces, ['Cac bo va co quan ngang bo', 'Uy ban nhan dan cac tinh, TP']);
  t.equal(neu.steeringType, '1');
  t.same(neu.traceHeaders, [{ organId: '000.00.00.G22', timestamp: '2018/09/28 00:00:00' }]);
  t.equal(neu.bussiness?.bussinessDocType, '0');
  t.equal(neu.bussiness?.staffInfo?.staff, 'Nguyễn Thị Ngọc Trâm');
  t.same(neu.manifest?.map((m) => m.contentId), ['cid:209']);
  const zip = neu.attachments?.[0]?.content;
  t.ok(zip && zip[0] === 0x50 && zip[1] === 0x4b, 'the attachment decodes to a zip (PK…)');

  const replacement = asDocument(parse('edoc_replacement.edxml'));
  t.same(
    replacement.to.map((o) => o.organId),
    ['000.00.00.H41', '000.00.00.H14', '000.00.00.G17'],
  );
  t.equal(replacement.bussiness?.bussinessDocType, '3', 'a replacement');
  t.same(replacement.bussiness?.replacementInfoList?.[0], {
    documentId: '000.00.00.G22,2014/01/30,7806/VPCP-TTĐT',
    organIdList: ['000.00.00.H41', '000.00.00.H14'],
  });

  const revocation = asDocument(parse('edoc_revocation.edxml'));
  t.equal(revocation.bussiness?.bussinessDocType, '1', 'a revocation');
  t.same(revocation.responseFor?.map((r) => r.documentId), ['000.00.04.G14,2012/08/06,267/VPCP-TTĐT']);

  const update = asDocument(parse('edoc_update.edxml'));
  t.equal(update.bussiness?.bussinessDocType, '2', 'an update');
  t.same(update.bussiness?.bussinessDocumentInfo?.receiverList, [
    { organId: '000.00.00.H41', receiverType: '0' },
    { organId: '000.00.00.H14', receiverType: '1' },
  ]);

  const codes = ['status.edxml', 'status_rejection_02.edxml', 'status_cancellation_13.edxml', 'status_change-acceptance_15.edxml'].map(
    (n) => asStatus(parse(n)).statusCode,
  );
  t.same(codes, ['01', '02', '13', '15']);
  const rejection = asStatus(parse('status_rejection_02.edxml'));
  t.same(
    rejection.responseFor,
    {
      organId: '000.00.00.G22',
      code: '7816/VPCP-TTĐT',
      promulgationDate: '2015/09/30',
      documentId: '000.00.00.G22,2015/09/30,7816/VPCP-TTĐT',
    },
    'children in another order than the document header are read by name',
  );
  t.equal(rejection.from.organName, 'UBND Tỉnh Nghệ An');
  t.equal(rejection.staffInfo?.email, 'ngoctram@nghean.vn');
  t.equal(asStatus(parse('status_cancellation_13.edxml')).responseFor.organId, '000.00.00.H41', 'a recall names the recipient');
});

for (const name of SAMPLE_FILES) {
  t.test(`${name}: building the parsed packet says the same thing`, async (t) => {
    const original = parse(name);
    const built = buildPacket(original);
    t.strictSame(parsePacket(built), original, 'parse(build(parse(sample))) = parse(sample)');
    t.equal(buildPacket(parsePacket(built)), built, 'building is stable');

    if (hasXmllint) {
      t.doesNotThrow(
        () => execFileSync('xmllint', ['--noout', '--schema', XSD, '-'], { input: built, stdio: ['pipe', 'pipe', 'pipe'] }),
        'the built packet is valid against schemas/edxml.xsd',
      );
    }

    t.same(
      elementTree(built, ORDER_FREE_PARENTS),
      elementTree(read(name), ORDER_FREE_PARENTS),
      'element by element, the same names, namespaces, attributes and text',
    );
  });
}

t.test('the samples themselves are valid against schemas/edxml.xsd', { skip: !hasXmllint && 'xmllint not installed' }, async (t) => {
  for (const name of SAMPLE_FILES) {
    t.doesNotThrow(() => execFileSync('xmllint', ['--noout', '--schema', XSD, join(SAMPLES, name)], { stdio: 'pipe' }), name);
  }
});
