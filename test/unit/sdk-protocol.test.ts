/**
 * The pure parts of the SDK door: the signed headers checked as the SDK's client sends them
 * (the requests captured in sdk-protocol.md §8, with their systemId and secret), the file of a
 * sendEdoc body, the reply shapes, and the status words both ways.
 */
import { createHash, createHmac } from 'node:crypto';
import t from 'tap';
import { lienthongInProcess } from '../helpers/cli-in-process.js';
import { edgeConfigFrom } from '../../src/edge/config.js';
import {
  asciiJson,
  failReply,
  fileOfBody,
  okReply,
  readReply,
  receivedItems,
  sdkFileHash,
  sdkTimestamp,
  signatureOf,
  signedCallHeaders,
  verifySignedCall,
  type RequestHeaders,
} from '../../src/sdk-protocol/index.js';
import { sdkStatusOfCode, sdkStatusOfState, sdkUpdateOf } from '../../src/sdk-protocol/index.js';

const SYSTEM = 'test.system.01';
const SECRET = 'test-secret-123';
const secretOf = (id: string) => (id === SYSTEM ? SECRET : undefined);

/** A captured request's headers as Node hands them to a server: names lowercased. */
function captured(lines: string): RequestHeaders {
  const headers: RequestHeaders = {};
  for (const line of lines.trim().split('\n')) {
    const at = line.indexOf(': ');
    headers[line.slice(0, at).toLowerCase()] = line.slice(at + 2);
  }
  return headers;
}

// sdk-protocol.md §8, as captured from the SDK's own classes.
const LIST = captured(`
XroadVnpt-systemid: test.system.01
XroadVnpt-servicetype: eDoc
XroadVnpt-messagetype: edoc
XroadVnpt-timestamp: 30112026T201617+0731
Content-Type: application/json
XroadVnpt-Content-Type: application/json
XroadVnpt-sign-header-key: systemid;servicetype;messagetype;timestamp;Content-Type
XroadVnpt-sign-header: {"XroadVnpt-systemid":"test.system.01","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"30112026T201617+0731","XroadVnpt-Content-Type":"application/json"}
XroadVnpt-hash-header: d4522dee36a124ac51817edd9e1ce51997209aa6e96ab2b0ee664f0a3d902708
User-Agent: JAVASDKAgent/1.0.0 XRoad/VPCP
XroadVnpt-version: 3.0.201608
Content-Length: 0`);

const SEND = captured(`
Content-Type: application/octet-stream
XroadVnpt-systemid: test.system.01
XroadVnpt-servicetype: eDoc
XroadVnpt-messagetype: edoc
XroadVnpt-hash-file: 8fd3b84becda16f8d53e5bda61b8c1398821c2e32af7b722acaf635e4c0ea9
XroadVnpt-from: 000.00.00.T01
XroadVnpt-timestamp: 30112026T201617+0526
XroadVnpt-Content-Type: application/octet-stream
XroadVnpt-sign-header-key: systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type
XroadVnpt-sign-header: {"XroadVnpt-systemid":"test.system.01","XroadVnpt-servicetype":"eDoc","XroadVnpt-messagetype":"edoc","XroadVnpt-hash-file":"8fd3b84becda16f8d53e5bda61b8c1398821c2e32af7b722acaf635e4c0ea9","XroadVnpt-from":"000.00.00.T01","XroadVnpt-timestamp":"30112026T201617+0526","XroadVnpt-Content-Type":"application/octet-stream"}
XroadVnpt-hash-header: a7cc21afc3f5d4a5d3fe2b803c5d23095394e0bef62a11911a1d50db3e3e0056`);

const UPDATE = captured(`
XroadVnpt-systemid: test.system.01
XroadVnpt-docId: 06b64b3e-c3f1-4b45-bd84-e0ceb32ca653
XroadVnpt-timestamp: 30112026T201618+0245
Content-Type: application/json
XroadVnpt-Content-Type: application/json
XroadVnpt-status: done
XroadVnpt-sign-header-key: systemid;docId;timestamp;Content-Type;status
XroadVnpt-sign-header: {"XroadVnpt-systemid":"test.system.01","XroadVnpt-docId":"06b64b3e-c3f1-4b45-bd84-e0ceb32ca653","XroadVnpt-timestamp":"30112026T201618+0245","XroadVnpt-Content-Type":"application/json","XroadVnpt-status":"done"}
XroadVnpt-hash-header: cc27a46a3214717ef179721552390ac23f489453b392f8f9c106ee14d316f89e`);

/** Headers signed with `secret` the way the SDK signs them, from an ordered list of map entries. */
function signed(entries: Array<[string, string]>, secret = SECRET): RequestHeaders {
  const object = Object.fromEntries(entries.map(([k, v]) => [`XroadVnpt-${k}`, v]));
  const signHeader = JSON.stringify(object);
  const headers: RequestHeaders = {};
  for (const [k, v] of entries) headers[`xroadvnpt-${k.toLowerCase()}`] = v;
  headers['xroadvnpt-sign-header-key'] = entries.map(([k]) => k).join(';');
  headers['xroadvnpt-sign-header'] = signHeader;
  headers['xroadvnpt-hash-header'] = createHmac('sha256', secret).update(signHeader).digest('hex');
  return headers;
}

t.test('the requests the SDK sent are accepted with their parameters', async (t) => {
  const list = verifySignedCall(LIST, secretOf);
  t.equal(list.systemId, SYSTEM);
  t.equal(list.parameters.get('messagetype'), 'edoc');
  t.equal(list.parameters.get('servicetype'), 'eDoc');
  const send = verifySignedCall(SEND, secretOf);
  t.equal(send.parameters.get('hash-file'), '8fd3b84becda16f8d53e5bda61b8c1398821c2e32af7b722acaf635e4c0ea9');
  t.equal(send.parameters.get('from'), '000.00.00.T01');
  const update = verifySignedCall(UPDATE, secretOf);
  t.equal(update.parameters.get('docId'), '06b64b3e-c3f1-4b45-bd84-e0ceb32ca653');
  t.equal(update.parameters.get('docid'), '06b64b3e-c3f1-4b45-bd84-e0ceb32ca653', 'either spelling of a key finds it');
  t.equal(update.parameters.get('status'), 'done');
  t.equal(signatureOf(SECRET, Buffer.from(UPDATE['xroadvnpt-sign-header'] as string)), UPDATE['xroadvnpt-hash-header'], 'the HMAC is over the header as sent, keyed with the secret string');
});

t.test('the signed string is taken as received: any key order, stale keys, an old timestamp', async (t) => {
  const entries: Array<[string, string]> = [
    ['status', '03'],
    ['Content-Type', 'application/json'],
    ['to', '["000.00.05.H12"]'],
    ['systemid', SYSTEM],
    ['docid', 'x'],
    ['timestamp', '01011999T000000+0001'],
    ['hash-file', 'abc'],
  ];
  const call = verifySignedCall(signed(entries), secretOf);
  t.equal(call.parameters.get('status'), '03');
  t.equal(call.parameters.get('to'), '["000.00.05.H12"]');
  t.equal(call.parameters.get('docId'), 'x');
  const withUnsigned = { ...signed(entries), 'xroadvnpt-messagetype': 'status' };
  t.equal(verifySignedCall(withUnsigned, secretOf).parameters.get('messagetype'), undefined, 'an unsigned XroadVnpt-* header is not a parameter');
});

t.test('refusals say what is wrong', async (t) => {
  const refused = (headers: RequestHeaders, message: RegExp, code = 'AUTH_REQUIRED') => t.throws(() => verifySignedCall(headers, secretOf), { code, message });
  refused(signed([['systemid', SYSTEM]], 'another-secret-000'), /signature .* does not match/);
  refused(signed([['systemid', 'nobody']]), /"nobody" is not an SDK client of this edge/);
  const { 'xroadvnpt-hash-header': _hash, ...unsigned } = LIST;
  refused(unsigned, /not signed: XroadVnpt-hash-header is missing/);
  const { 'xroadvnpt-sign-header': _sign, ...noSignHeader } = LIST;
  refused(noSignHeader, /not signed: XroadVnpt-sign-header is missing/);
  const { 'xroadvnpt-systemid': _id, ...anonymous } = LIST;
  refused(anonymous, /no XroadVnpt-systemid header/);
  refused({ ...LIST, 'xroadvnpt-messagetype': 'status' }, /XroadVnpt-messagetype differs from its signed value/);
  const { 'xroadvnpt-servicetype': _s, ...missing } = LIST;
  refused(missing, /signed header XroadVnpt-servicetype was not sent/);
  refused({ ...LIST, 'xroadvnpt-hash-header': 'zz' }, /does not match/);
  // Correctly signed, but not what the SDK signs.
  const notJson = 'not json';
  refused(
    { 'xroadvnpt-systemid': SYSTEM, 'xroadvnpt-sign-header': notJson, 'xroadvnpt-hash-header': signatureOf(SECRET, Buffer.from(notJson)) },
    /sign-header is not JSON/,
    'USAGE',
  );
  const array = '["x"]';
  refused({ 'xroadvnpt-systemid': SYSTEM, 'xroadvnpt-sign-header': array, 'xroadvnpt-hash-header': signatureOf(SECRET, Buffer.from(array)) }, /must be a JSON object/, 'USAGE');
  const withoutId = signed([['docId', 'x']]);
  refused({ ...withoutId, 'xroadvnpt-systemid': SYSTEM }, /systemid is not among the signed headers/);
});

t.test('a UTF-8 header value (sendEdoc sends them so) is checked on its bytes', async (t) => {
  const value = 'Sở Tài chính';
  const signHeader = JSON.stringify({ 'XroadVnpt-systemid': SYSTEM, 'XroadVnpt-from': value });
  // Node gives a server each header byte as one latin1 character.
  const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
  const headers: RequestHeaders = {
    'xroadvnpt-systemid': SYSTEM,
    'xroadvnpt-from': latin1(value),
    'xroadvnpt-sign-header': latin1(signHeader),
    'xroadvnpt-hash-header': createHmac('sha256', SECRET).update(signHeader, 'utf8').digest('hex'),
  };
  t.equal(verifySignedCall(headers, secretOf).parameters.get('from'), value);
});

t.test('hash-file: SHA-256 with each byte in hex without zero padding', async (t) => {
  for (let i = 0; i < 50; i += 1) {
    const data = Buffer.from(`file ${i}`);
    const digest = createHash('sha256').update(data).digest();
    const expected = [...digest].map((b) => b.toString(16)).join('');
    t.equal(sdkFileHash(data), expected);
    if (digest.some((b) => b < 16)) t.ok(sdkFileHash(data).length < 64, 'bytes under 0x10 lose their leading zero');
  }
});

t.test('the file of a sendEdoc body: the CRLF the SDK appends is dropped, the hash decides', async (t) => {
  const file = Buffer.from('<edXML/>\n');
  const body = Buffer.concat([file, Buffer.from('\r\n')]);
  t.same(fileOfBody(body, sdkFileHash(file)), file, 'the file without the trailing CRLF');
  t.same(fileOfBody(file, sdkFileHash(file)), file, 'a client that sends no CRLF');
  const endsInCrlf = Buffer.from('<edXML/>\r\n');
  t.same(fileOfBody(endsInCrlf, sdkFileHash(endsInCrlf)), endsInCrlf, 'a file that itself ends in CRLF, sent without one');
  t.throws(() => fileOfBody(Buffer.from('<other/>\r\n'), sdkFileHash(file)), { code: 'USAGE', message: /does not match the signed XroadVnpt-hash-file/ });
  t.throws(() => fileOfBody(body, undefined), { code: 'USAGE', message: /needs the signed XroadVnpt-hash-file/ });
});

t.test('replies: the fields the SDK reads, ASCII only', async (t) => {
  t.same(okReply({ DocId: 'p' }), { status: 'OK', ErrorCode: '0', ErrorDesc: 'Success', DocId: 'p' });
  t.same(failReply('NOT_FOUND', 'x', { DocId: '' }), { status: 'FAIL', ErrorCode: 'NOT_FOUND', ErrorDesc: 'x', DocId: '' });
  const text = asciiJson(failReply('USAGE', 'Văn bản đã thu hồi'));
  t.match(text, /^[\x20-\x7e]*$/, 'no byte outside ASCII');
  t.equal((JSON.parse(text) as { ErrorDesc: string }).ErrorDesc, 'Văn bản đã thu hồi', 'the escapes read back as the text');
});

t.test('the client side: its signed headers pass the server side, its timestamp has the SDK\'s shape', async (t) => {
  const at = new Date(2026, 10, 30, 20, 16, 17, 526);
  t.equal(sdkTimestamp(at), '30112026T201617+0526', 'as captured (§3.3): local time, milliseconds on four digits');
  const headers = signedCallHeaders({ systemId: SYSTEM, secret: SECRET, contentType: 'application/json', parameters: { docId: 'd-1', status: 'done' }, at });
  const lowered: RequestHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const call = verifySignedCall(lowered, secretOf);
  t.equal(call.systemId, SYSTEM);
  t.same([call.parameters.get('docId'), call.parameters.get('status'), call.parameters.get('timestamp')], ['d-1', 'done', '30112026T201617+0526']);
  t.equal(headers['Content-Type'], 'application/json', 'the plain Content-Type is sent too');
  t.throws(() => signedCallHeaders({ systemId: SYSTEM, secret: SECRET, contentType: 'application/json', parameters: { from: 'Sở Tài chính' }, at }), { code: 'USAGE', message: /printable ASCII/ });
});

t.test('replies read by a client: the three fields required, items kept to the SDK\'s strings', async (t) => {
  t.equal(readReply('<html/>'), undefined);
  t.equal(readReply('{"status":"OK"}'), undefined, 'a reply without ErrorCode/ErrorDesc is nulled by the SDK');
  const list = readReply('{"status":"OK","ErrorCode":"0","ErrorDesc":"Success","data":[{"docId":"a","status":"inbox","extra":1},null,{"docId":2}]}');
  t.same(list && receivedItems(list), [{ docId: 'a', status: 'inbox' }, {}]);
});

t.test('status words both ways', async (t) => {
  t.same(sdkUpdateOf('done'), { kind: 'take', outcome: 'done' }, 'done hands a fetched packet back; it is not 06');
  t.same(sdkUpdateOf('fail'), { kind: 'take', outcome: 'fail' });
  t.same(sdkUpdateOf(' Acceptance '), { kind: 'status', code: '03' });
  t.same(sdkUpdateOf('rejection'), { kind: 'status', code: '02' });
  t.same(sdkUpdateOf('assignment'), { kind: 'status', code: '04' });
  t.same(sdkUpdateOf('processing'), { kind: 'status', code: '05' });
  t.same(sdkUpdateOf('completed'), { kind: 'status', code: '06' });
  t.same(sdkUpdateOf('06'), { kind: 'status', code: '06' });
  t.same(sdkUpdateOf('inbox'), { kind: 'arrived' });
  t.same(sdkUpdateOf('cancellation'), { kind: 'cancellation' });
  t.equal(sdkUpdateOf('13'), undefined, 'a recall is "cancellation" on a sent document');
  t.equal(sdkUpdateOf('whatever'), undefined);
  t.equal(sdkStatusOfCode('03'), 'acceptance');
  t.equal(sdkStatusOfCode('13'), 'cancellation');
  t.equal(sdkStatusOfState({ stage: '01', recall: 'none' }), 'inbox');
  t.equal(sdkStatusOfState({ stage: '06', recall: 'none' }), 'completed');
  t.equal(sdkStatusOfState({ stage: '03', recall: 'requested' }), 'cancellation');
  t.equal(sdkStatusOfState({ stage: '03', recall: 'recalled' }), 'cancellation-accepted');
  t.equal(sdkStatusOfState({ stage: 'sent', recall: 'none' }), 'sent');
});

t.test('edge.json api.sdkClients: a secret or a secret file, checked at load', async (t) => {
  const dir = t.testdir({ 'sdk.secret': 'a-secret-of-enough-length\n' });
  const load = (sdkClients: unknown) =>
    edgeConfigFrom(
      { organId: '000.00.01.H12', hubOrganId: '000.00.00.H12', amqpUrl: 'amqp://u:p@127.0.0.1', identity: { key: 'k', cert: 'c' }, trust: { anchors: ['a'] }, api: { sdkClients } },
      dir,
      'edge.json',
      {},
    ).api?.sdkClients;
  t.same(load([{ systemId: 'qlvb.a', secret: 'x'.repeat(16) }]), [{ systemId: 'qlvb.a', secret: 'x'.repeat(16) }]);
  t.same(load([{ systemId: 'qlvb.b', secretFile: 'sdk.secret' }]), [{ systemId: 'qlvb.b', secret: 'a-secret-of-enough-length' }], 'the file, relative to edge.json, without its line break');
  t.throws(() => load([{ systemId: 'qlvb.c', secret: 'short' }]), { code: 'CONFIG_INVALID', message: /fewer than 16 characters/ });
  t.throws(() => load([{ systemId: 'qlvb.d', secret: 'x'.repeat(16), secretFile: 'sdk.secret' }]), { code: 'CONFIG_INVALID', message: /exactly one of "secret" and "secretFile"/ });
  t.throws(() => load([{ systemId: 'qlvb.e', secretFile: 'missing' }]), { code: 'CONFIG_INVALID', message: /cannot be read \(ENOENT\)/ });
  t.throws(() => load([{ systemId: 'has blank', secret: 'x'.repeat(16) }]), { code: 'CONFIG_INVALID', message: /printable ASCII/ });
  t.throws(
    () =>
      load([
        { systemId: 'twice', secret: 'x'.repeat(16) },
        { systemId: 'twice', secret: 'y'.repeat(16) },
      ]),
    { code: 'CONFIG_INVALID', message: /listed twice/ },
  );
  t.throws(() => load({ systemId: 'x' }), { code: 'CONFIG_INVALID', message: /must be a list/ });
});

t.test('lienthong apikey new --sdk prints the entry and the secret once', async (t) => {
  const run = async (args: string[]) => lienthongInProcess(...args);
  const text = await run(['apikey', 'new', '--sdk', 'qlvb.vanphong']);
  t.equal(text.code, 0);
  const entry = JSON.parse(/^ {2}(\{"systemId".*\})$/m.exec(text.stdout)?.[1] ?? 'null') as { systemId: string; secret: string };
  t.equal(entry.systemId, 'qlvb.vanphong');
  t.match(entry.secret, /^[A-Za-z0-9_-]{43}$/, 'a 256-bit secret in ASCII');
  t.match(text.stdout, /shown only now/);
  t.match(text.stdout, /<the edge API's base URL>\/sdk/, 'says what endpoint to give the program');
  const json = await run(['apikey', 'new', '--sdk', 'qlvb.b', '--json']);
  t.match(JSON.parse(json.stdout), { systemId: 'qlvb.b', secret: /^.{43}$/, entry: { systemId: 'qlvb.b' } });
  const bad = await run(['apikey', 'new', '--sdk', 'has blank']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /printable ASCII characters without blanks \(USAGE\)/);
  const both = await run(['apikey', 'new', 'client', '--sdk', 'x']);
  t.match(both.stderr, /either a client name or --sdk/);
});
