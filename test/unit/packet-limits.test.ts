/**
 * The packet limit beyond 32 MiB (issue 15): a size is read as operators write it, bounded to
 * what a process can hold; the XML limits grow with it where a larger legitimate packet needs
 * more; a node's crypto workers parse, sign and verify under the node's limit, not the parser's
 * default, so maxPacketBytes of 200 MiB means 200 MiB all the way.
 */
import t from 'tap';
import { nodeCryptoOptions, nodeSettings } from '../../src/config.js';
import { CryptoPool } from '../../src/crypto/pool.js';
import { DEFAULT_XML_LIMITS, xmlLimitsFor } from '../../src/envelope/xml.js';
import { LtError } from '../../src/errors.js';
import { MAX_PACKET_BYTES_CEILING, heapMbFor, parsePacketSize } from '../../src/packet-size.js';
import { OFFICE, identityMaterial, trustMaterial, unsignedDocument } from '../helpers/pki.js';

const MiB = 1024 * 1024;

const usage = (text: string): string => {
  try {
    return String(parsePacketSize(text, '--max-packet-bytes'));
  } catch (error) {
    return error instanceof LtError ? `${error.code}: ${error.message}` : String(error);
  }
};

t.test('sizes are read in bytes, binary and decimal units', async (t) => {
  t.equal(usage('209715200'), String(200 * MiB));
  t.equal(usage('200M'), String(200 * MiB), 'M is MiB, as dd and RabbitMQ read it');
  t.equal(usage('200MiB'), String(200 * MiB));
  t.equal(usage('200mib'), String(200 * MiB), 'any case');
  t.equal(usage('200MB'), String(200_000_000), 'MB is 10^6');
  t.equal(usage('0.5G'), String(512 * MiB), 'fractions');
  t.equal(usage('64K'), String(64 * 1024));
  t.equal(usage('1G'), String(MAX_PACKET_BYTES_CEILING), 'the ceiling itself is allowed');
});

t.test('nonsense and sizes out of bounds are USAGE errors that say what is expected', async (t) => {
  for (const bad of ['', 'lots', '-5M', '200X', '2e8', '200 M B', 'M']) t.match(usage(bad), /^USAGE: --max-packet-bytes is a size in bytes, e\.g\. 209715200, 200M/, JSON.stringify(bad));
  t.match(usage('2G'), /^USAGE: --max-packet-bytes 2G is 2147483648 bytes; it must be between 4096 \(4K\) and 1073741824 \(1G\)$/);
  t.match(usage('0'), /must be between/);
  t.match(usage('100'), /must be between/, 'a limit no status packet fits under is a typo');
});

t.test('the XML limits grow with the packet limit where a legitimate packet needs it', async (t) => {
  t.same(xmlLimitsFor(DEFAULT_XML_LIMITS.maxBytes), DEFAULT_XML_LIMITS, 'at 32 MiB: the defaults');
  const big = xmlLimitsFor(200 * MiB);
  t.equal(big.maxBytes, 200 * MiB);
  t.equal(big.maxWhitespaceBytes, 12.5 * MiB, 'indentation in proportion: 2 MiB per 32');
  t.equal(big.maxNodes, DEFAULT_XML_LIMITS.maxNodes, 'an attachment is one text node however large');
  t.equal(big.maxCdataBytes, DEFAULT_XML_LIMITS.maxCdataBytes, 'CDATA has no place in edXML at any size');
  t.equal(big.maxCommentBytes, DEFAULT_XML_LIMITS.maxCommentBytes);
  const small = xmlLimitsFor(MiB);
  t.equal(small.maxBytes, MiB);
  t.equal(small.maxWhitespaceBytes, DEFAULT_XML_LIMITS.maxWhitespaceBytes, 'a lower limit leaves the other budgets alone');
});

t.test('a node configuration: up to 1 GiB, with the heap its workers need', async (t) => {
  t.equal(heapMbFor(200 * MiB), 1600);
  const settings = nodeSettings({ maxPacketBytes: 200 * MiB, cryptoHeapMb: 1600 }, 'edge.json', 4);
  t.same(nodeCryptoOptions(settings), { limits: xmlLimitsFor(200 * MiB), heapMb: 1600 }, 'the pool gets the limit and the heap');
  t.same(nodeCryptoOptions(nodeSettings({}, 'edge.json', 4)), { limits: DEFAULT_XML_LIMITS }, 'by default the defaults, and the pool chooses the heap');
  t.throws(() => nodeSettings({ maxPacketBytes: 2 * 1024 * MiB, cryptoHeapMb: 20_000 }, 'edge.json', 4), { code: 'CONFIG_INVALID', context: { path: 'maxPacketBytes' }, message: /over the 1073741824 \(1 GiB\)/ });
});

t.test("a pool's limits apply to every job that names none", async (t) => {
  const unsigned = unsignedDocument(OFFICE);
  const tight = { ...DEFAULT_XML_LIMITS, maxBytes: 1000 };
  t.ok(Buffer.byteLength(unsigned) > 1000, 'the packet is over the tight limit');
  const open = new CryptoPool({ size: 1, trust: trustMaterial() });
  const limited = new CryptoPool({ size: 1, trust: trustMaterial(), limits: tight });
  t.teardown(async () => {
    await open.close();
    await limited.close();
  });
  const signed = await open.sign(unsigned, identityMaterial(OFFICE));
  await t.rejects(limited.sign(unsigned, identityMaterial(OFFICE)), { code: 'XML_TOO_LARGE' }, 'signing');
  t.same((await limited.verify(signed)).report.errors.map((e) => e.code), ['XML_TOO_LARGE'], 'verifying');
  await t.rejects(limited.parsePacket(signed), { code: 'XML_TOO_LARGE' }, 'parsing');
  t.equal((await limited.parsePacket(signed, DEFAULT_XML_LIMITS)).kind, 'document', "a job's own limits win");
  t.equal((await limited.verify(signed, { limits: DEFAULT_XML_LIMITS })).report.valid, true);
});
