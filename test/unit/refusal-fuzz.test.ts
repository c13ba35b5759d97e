/**
 * A packet missing a field is refused with a typed reason, never a crash (issue 11, point 2).
 *
 * Valid packets of every kind lienthong reads (the public samples, the SDK-built ones, and what
 * compose/build write: a document with every optional part, a status) have each element, in
 * turn, dropped; each required one also emptied and duplicated. Every variant goes through the parser and the validator
 * the hub and the edges use:
 *  - none may throw anything but an LtError (a TypeError is a refusal that would crash);
 *  - every variant schemas/edxml.xsd rejects (xmllint judges) is refused;
 *  - every required element (its absence is refused) is refused emptied and duplicated too,
 *    unless it may repeat (a second To is a second recipient) or TOLERATED_EMPTY says why not;
 *  - the fixtures exercise every element the schema requires.
 * What the refusal path then does with such a packet (bounce, 02, dead letter, all in one
 * delivery) is test/integration/refusal-fuzz.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildPacket, composeDocument, composeStatus, parsePacket, validatePacket } from '../../src/envelope/index.js';
import { isLtError } from '../../src/errors.js';
import { Damageable, XSD, requiredElementNames, schemaAccepts, type Variant } from '../helpers/field-fuzz.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
/** After every fixture's dates, and the composed packets' (written with this clock). */
const now = new Date('2026-12-15T03:00:00Z');

const A = '000.00.01.H12';
const B = '000.00.05.H12';
const C = '000.00.31.H12';

/** A document with every optional part compose writes: each of its elements gets damaged. */
function fullDocument(): string {
  const packet = composeDocument(
    {
      from: { organId: A, organName: 'Văn phòng UBND tỉnh' },
      to: [
        { organId: B, organName: 'Sở Tài chính' },
        { organId: C, organName: 'UBND thành phố Cà Mau' },
      ],
      code: { codeNumber: '12', codeNotation: 'UBND-VP' },
      subject: 'V/v thay thế công văn số 11/UBND-VP',
      content: 'Thay thế công văn số 11/UBND-VP.',
      promulgationInfo: { place: 'Cà Mau' },
      signerInfo: { competence: 'KT. CHÁNH VĂN PHÒNG', position: 'Phó Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
      dueDate: '2026/12/31',
      otherInfo: { priority: '1', sphereOfPromulgation: 'Liên thông', typerNotation: 'TVC', promulgationAmount: '2', pageAmount: '3', direction: 'false', replyFors: ['9/STC'], referenceCodes: ['8/STC'], appendixes: ['Phụ lục I'] },
      responseFor: [{ organId: B, code: '9/STC', documentId: `${B},2026/05/02,9/STC`, promulgationDate: '2026/05/02' }],
      steeringType: '1',
      responseForTask: { taskCode: 'NV-2026-01' },
      applicationType: 'QLVB',
      toPlaces: ['Sở Tài chính'],
      bussiness: {
        bussinessDocType: '3',
        documentId: `${A},2026/05/20,11/UBND-VP`,
        bussinessDocumentInfo: { documentInfo: '1', documentReceiver: '1', receiverList: [{ organId: B, receiverType: '1' }] },
        replacementInfoList: [{ documentId: `${A},2026/05/20,11/UBND-VP`, organIdList: [B, C] }],
      },
      staffInfo: { department: 'Văn thư', staff: 'Trần Thị B', email: 'vanthu@example.vn', mobile: '0900000000' },
      attachments: [
        { name: 'cong-van-12.pdf', content: Buffer.from('%PDF-1.4 công văn 12') },
        { name: 'phu-luc.docx', content: Buffer.from('phụ lục') },
      ],
    },
    now,
  );
  return buildPacket(packet);
}

function status(): string {
  return buildPacket(
    composeStatus(
      {
        from: { organId: B, organName: 'Sở Tài chính' },
        responseFor: { organId: A, code: '12/UBND-VP', documentId: `${A},2026/12/15,12/UBND-VP`, promulgationDate: '2026/12/15' },
        statusCode: '02',
        description: 'Văn bản gửi nhầm đơn vị',
        staffInfo: { department: 'Văn thư', staff: 'Lê Văn C' },
      },
      now,
    ),
  );
}

const sources: Array<{ name: string; xml: string }> = [
  ...['samples', 'sdk-built'].flatMap((dir) =>
    readdirSync(join(FIXTURES, dir))
      .filter((f) => f.endsWith('.edxml'))
      .map((f) => ({ name: `${dir}/${f}`, xml: readFileSync(join(FIXTURES, dir, f), 'utf8') })),
  ),
  { name: 'composed document (every optional part)', xml: fullDocument() },
  { name: 'composed status 02', xml: status() },
];

type Judgement = { refused: false } | { refused: true; code: string; path?: string } | { crashed: string };

/** What the hub and the edges conclude about the bytes before acting on them. */
function judge(xml: string): Judgement {
  try {
    const result = validatePacket(parsePacket(xml), { now });
    const first = result.errors[0];
    return first ? { refused: true, code: first.code, path: first.path } : { refused: false };
  } catch (error) {
    if (isLtError(error)) return { refused: true, code: error.code, ...(error.context.path ? { path: error.context.path } : {}) };
    return { crashed: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/**
 * Damages the validator accepts on purpose, with why. Only emptied elements: an absent required
 * element is always refused.
 */
const TOLERATED_EMPTY: Record<string, string> = {
  ContentTransferEncoded: 'an attachment of zero bytes is a file (XSD base64Binary allows it)',
};

t.test('the sources are valid packets, for lienthong and for the schema', async (t) => {
  const accepted = schemaAccepts(sources.map((s) => s.xml));
  for (const [i, source] of sources.entries()) {
    t.same(judge(source.xml), { refused: false }, `${source.name}: lienthong accepts it`);
    t.ok(accepted[i], `${source.name}: the XSD accepts it`);
  }
});

t.test('every element dropped, and every required one emptied and duplicated: refused with a typed reason, never a crash', async (t) => {
  type Judged = Variant & { source: string; judgement: Judgement };
  const label = (v: Judged): string => `${v.source}: ${v.damage} ${v.path}`;
  const isRefused = (v: Judged): boolean => 'refused' in v.judgement && v.judgement.refused;
  const packets = sources.map((s) => ({ name: s.name, packet: new Damageable(s.xml) }));
  const run = (variants: Array<Variant & { source: string }>): Array<Judged & { schemaValid: boolean }> => {
    const schema = schemaAccepts(variants.map((v) => v.xml));
    return variants.map((v, i) => ({ ...v, judgement: judge(v.xml), schemaValid: schema[i] as boolean }));
  };

  // Every element dropped: the required ones are those whose absence the XSD or lienthong refuses.
  const drops = run(packets.flatMap(({ name, packet }) => Array.from({ length: packet.count }, (_, i) => ({ ...packet.at(i, 'drop'), source: name }))));
  const required = drops.filter((v) => !v.schemaValid || isRefused(v));
  const others = run(
    required.flatMap((d) => {
      const packet = packets.find((p) => p.name === d.source)?.packet as Damageable;
      return (['empty', 'duplicate'] as const).map((how) => ({ ...packet.at(d.index, how), source: d.source }));
    }),
  );
  const all = [...drops, ...others];

  const crashes = all.filter((v) => 'crashed' in v.judgement).map((v) => `${label(v)} → ${(v.judgement as { crashed: string }).crashed}`);
  t.same(crashes, [], 'no variant makes the parser or the validator throw anything but an LtError');

  t.same(all.filter((v) => !v.schemaValid && !isRefused(v)).map(label), [], 'every variant the XSD rejects is refused');
  t.same(
    others
      .filter((v) => !isRefused(v))
      // A repeatable element (To, ResponseFor, Reference...) may appear twice: the XSD says which.
      .filter((v) => (v.damage === 'empty' ? !(v.name in TOLERATED_EMPTY) : !v.schemaValid))
      .map(label),
    [],
    'a required element emptied, or duplicated where only one is allowed, is refused as well',
  );

  const codes = new Set(all.flatMap((v) => ('refused' in v.judgement && v.judgement.refused ? [v.judgement.code] : [])));
  t.ok([...codes].every((code) => /^[A-Z][A-Z0-9_]+$/.test(code)), `reasons are stable codes: ${[...codes].sort().join(', ')}`);
  t.ok(required.length > 100, `${required.length} required elements of ${drops.length} in ${sources.length} packets; ${all.length} variants`);

  const droppedAndRefused = new Set(required.filter(isRefused).map((v) => v.name));
  const uncovered = [...requiredElementNames(readFileSync(XSD, 'utf8'))].filter((name) => name !== 'edXML' && !droppedAndRefused.has(name));
  t.same(uncovered, [], 'every element the XSD requires is dropped, and refused, in some source');
});
