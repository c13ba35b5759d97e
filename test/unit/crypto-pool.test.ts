/**
 * The crypto worker pool: a hub signs and verifies off its main thread so that heartbeats and
 * HTTP keep being served while a 20 MB packet is canonicalised. The pool must give exactly what
 * the in-thread API gives, report errors as LtErrors with their codes, answer a bad packet with
 * an invalid report (never a rejection), keep up with many concurrent jobs, and let the process
 * exit once closed.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { loadSigningIdentity } from '../../src/crypto/certificates.js';
import { transferablesOf, type CryptoJobResult } from '../../src/crypto/jobs.js';
import { CryptoPool } from '../../src/crypto/pool.js';
import { signPacket } from '../../src/crypto/sign.js';
import { createTrustStore } from '../../src/crypto/trust.js';
import { verifyPacket, type Verification } from '../../src/crypto/verify.js';
import { buildPacket, buildPacketBytes, DEFAULT_XML_LIMITS, parsePacket } from '../../src/envelope/index.js';
import { LtError } from '../../src/errors.js';
import { FINANCE, ICT, OFFICE, REPO, REVOKED, documentFrom, identityMaterial, trustMaterial, unsignedDocument } from '../helpers/pki.js';
import { cpuMsSince } from '../helpers/cpu.js';
import { EVENT_DEADLINE_MS, waitForCount } from '../helpers/deadline.js';

const trust = trustMaterial();
const store = createTrustStore(trust);
const pool = new CryptoPool({ trust, size: 2 });
t.teardown(() => pool.close());

/** What crosses the thread boundary: the report and the packet (the in-thread API also returns its DOM). */
const sent = ({ report, packet }: Verification) => ({ report, packet });

t.test('the pool signs and verifies exactly as the in-thread API does', async (t) => {
  const unsigned = unsignedDocument(OFFICE);
  const material = identityMaterial(OFFICE);
  const inPool = await pool.sign(unsigned, material);
  const inThread = await signPacket(unsigned, await loadSigningIdentity(material.keyPem, material.certPem));
  t.equal(inPool, inThread, 'the same signed text (RSA PKCS#1 v1.5 signatures are deterministic)');

  const now = new Date();
  const fromPool = await pool.verify(inPool, { now });
  const fromThread = await verifyPacket(inPool, store, { now });
  t.equal(fromPool.report.valid, true);
  t.same(sent(fromPool), sent(fromThread), 'the same report and the same packet');
  t.equal(fromPool.document, undefined, 'no DOM crosses the thread boundary');
  t.ok(fromPool.packet?.kind === 'document' && fromPool.packet.attachments?.[0]?.content instanceof Uint8Array, 'attachment bytes come back as bytes');

  const ecdsa = await pool.sign(unsignedDocument(ICT), identityMaterial(ICT));
  const ecdsaFromPool = await pool.verify(ecdsa, { now });
  t.equal(ecdsaFromPool.report.valid, true, 'an ECDSA signature made in the pool verifies');
  t.same(sent(ecdsaFromPool), sent(await verifyPacket(ecdsa, store, { now })), 'in the pool as in the thread');

  const legacy = await pool.verify(inPool, { now, legacySha1: true });
  t.equal(legacy.report.valid, true, 'options travel to the worker');

  const forwarded = await pool.verify(inPool, { now, attachmentBytes: false });
  t.same(forwarded.report, fromPool.report, 'without attachment bytes: the same report');
  const strip = (packet: unknown) => ({ ...(packet as object), attachments: ((packet as { attachments: Array<{ content: Uint8Array }> }).attachments ?? []).map((a) => ({ ...a, content: a.content.byteLength })) });
  const full = strip(fromPool.packet);
  t.same(strip(forwarded.packet), { ...full, attachments: full.attachments.map((a) => ({ ...a, content: 0 })) }, 'and the same packet, its attachments without their bytes');
});

t.test('errors come back as LtErrors with their codes', async (t) => {
  const unsigned = unsignedDocument(OFFICE);
  const office = identityMaterial(OFFICE);

  await t.rejects(pool.sign(unsigned, { ...office, keyPem: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' }), { name: 'LtError', code: 'KEY_INVALID' }, 'an unreadable key: KEY_INVALID');
  await t.rejects(pool.sign(unsigned, { ...office, keyPem: identityMaterial(FINANCE).keyPem }), { code: 'KEY_INVALID', message: /does not belong to the certificate/ }, 'another agency\'s key: KEY_INVALID');
  await t.rejects(pool.sign(unsigned, { ...office, certPem: 'no certificate here' }), { code: 'CERT_MALFORMED' }, 'no certificate: CERT_MALFORMED');
  await t.rejects(pool.sign('<edXML', office), { code: 'XML_MALFORMED' }, 'not XML: XML_MALFORMED');
  await t.rejects(pool.sign(await pool.sign(unsigned, office), office), { code: 'SIG_MULTIPLE' }, 'already signed: SIG_MULTIPLE');

  try {
    await pool.sign(unsigned, { ...office, keyPem: 'garbage' });
    t.fail('should have rejected');
  } catch (error) {
    t.ok(error instanceof LtError, 'an instance of LtError in the main thread');
    t.equal((error as LtError).status, 400, 'with the HTTP status of its code');
  }

  t.test('a pool without trust anchors refuses to verify (a configuration error, not a verdict)', async (t) => {
    const bare = new CryptoPool({ size: 1 });
    t.teardown(() => bare.close());
    await t.rejects(bare.verify(unsigned), { code: 'USAGE' });
    t.type(await bare.sign(unsigned, office), 'string', 'but it signs');
  });
});

t.test('an invalid packet resolves with an invalid report, it never rejects', async (t) => {
  const signed = await pool.sign(unsignedDocument(OFFICE), identityMaterial(OFFICE));
  const cases: Array<[string, string | Uint8Array, string]> = [
    ['changed after signing', signed.replace('V/v triển khai', 'V/v hủy'), 'SIG_DIGEST_MISMATCH'],
    ['unsigned', unsignedDocument(OFFICE), 'SIG_MISSING'],
    ['not XML at all', new Uint8Array(randomBytes(4096)), 'XML_ENCODING'],
    ['a revoked certificate', await pool.sign(unsignedDocument(REVOKED), identityMaterial(REVOKED)), 'CERT_REVOKED'],
  ];
  for (const [what, input, code] of cases) {
    const v = await pool.verify(input);
    t.equal(v.report.valid, false, `${what}: invalid`);
    t.same(v.report.errors.map((e) => e.code), [code], `${what}: ${code}`);
  }
});

t.test('verification in a worker reads the packet and hands back no DOM', async (t) => {
  const signed = await pool.sign(unsignedDocument(OFFICE), identityMaterial(OFFICE));
  const verification = await pool.verify(signed);
  t.equal(verification.report.valid, true);
  t.equal(verification.report.unsignedTraceHeaders, 0);
  t.equal(verification.packet?.kind, 'document', 'the packet read from the verified DOM comes back');
  t.equal(verification.document, undefined, 'a DOM does not cross threads');
});

t.test('50 concurrent jobs all complete', async (t) => {
  const material = identityMaterial(OFFICE);
  const jobs = Array.from({ length: 50 }, async (_, i) => {
    const packet = documentFrom(OFFICE, { code: { codeNumber: String(i + 1), codeNotation: 'UBND-VP' } });
    const signed = await pool.sign(buildPacket(packet), material);
    const v = await pool.verify(signed);
    return { i, valid: v.report.valid, codeNumber: v.packet?.kind === 'document' ? v.packet.code.codeNumber : undefined };
  });
  const results = await Promise.all(jobs);
  t.equal(results.length, 50);
  t.ok(results.every((r) => r.valid), 'every packet signed in the pool verifies in the pool');
  t.same(results.map((r) => r.codeNumber), results.map((r) => String(r.i + 1)), 'each answer belongs to its own job');
});

t.test('the main thread keeps running while the pool signs and verifies a ~20 MB packet', async (t) => {
  const attachment = new Uint8Array(randomBytes(15 * 1024 * 1024));
  const unsigned = buildPacket(documentFrom(OFFICE, { attachments: [{ name: 'ban-do-quy-hoach.tif', content: attachment }] }));
  const megabytes = Buffer.byteLength(unsigned) / 1024 / 1024;
  t.ok(megabytes > 19 && megabytes < 32, `the packet is ${megabytes.toFixed(1)} MiB`);

  const watch = async <T>(work: () => Promise<T>): Promise<{ result: T; longestGap: number; ticks: number; ms: number }> => {
    let last = performance.now();
    let longestGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks += 1;
    }, 10);
    const start = performance.now();
    try {
      const result = await work();
      const ms = performance.now() - start;
      longestGap = Math.max(longestGap, performance.now() - last);
      return { result, longestGap, ticks, ms };
    } finally {
      clearInterval(timer);
    }
  };

  // A responsiveness property, not a benchmark: the main thread must not be held for most of
  // the job. Judged relative to the job's own duration, because on a loaded machine (tap runs
  // two test files at once, CI machines are shared) both grow together, while an absolute bound
  // measures the load. A pool that ran the work on this thread holds it for most of the job
  // (the in-thread run below shows how much); a scheduler hiccup gets up to three attempts.
  const MAX_SHARE = 0.4;
  const responsive = async <T>(what: string, work: () => Promise<T>): Promise<{ result: T; longestGap: number; ms: number }> => {
    const shares: string[] = [];
    for (let attempt = 1; ; attempt++) {
      const run = await watch(work);
      const share = run.longestGap / run.ms;
      shares.push(`${run.longestGap.toFixed(0)}/${run.ms.toFixed(0)} ms`);
      t.comment(`${what}: ${run.ms.toFixed(0)} ms, ${run.ticks} ticks, longest gap ${run.longestGap.toFixed(1)} ms`);
      if (share < MAX_SHARE || attempt === 3) {
        t.ok(share < MAX_SHARE, `the 10 ms timer kept ticking while ${what}: its longest gap is under ${MAX_SHARE * 100} % of the job (${shares.join(', ')})`);
        t.ok(run.ticks > 0, 'it ticked');
        return run;
      }
    }
  };

  const signing = await responsive('the pool signed', () => pool.sign(unsigned, identityMaterial(OFFICE)));
  const verifying = await responsive('the pool verified', () => pool.verify(signing.result));
  t.equal(verifying.result.report.valid, true, 'the large packet is valid');

  // The instrument works: the same signing on the main thread freezes the loop.
  const identity = await loadSigningIdentity(identityMaterial(OFFICE).keyPem, identityMaterial(OFFICE).certPem);
  const inThread = await watch(() => signPacket(unsigned, identity));
  t.comment(`in-thread signing: ${inThread.ms.toFixed(0)} ms, longest gap ${inThread.longestGap.toFixed(1)} ms`);
  // Shares, not milliseconds: the two runs meet different loads (the pool's took 3.9 s at load 10, 616 ms its longest gap; this one 360 ms).
  const inThreadShare = inThread.longestGap / inThread.ms;
  const poolShare = signing.longestGap / signing.ms;
  t.ok(inThreadShare > poolShare, `signing in the main thread stalls the timer for more of the job (${(100 * inThreadShare).toFixed(0)} % against the pool's ${(100 * poolShare).toFixed(0)} %)`);
  t.ok(inThread.longestGap / inThread.ms >= MAX_SHARE, `the instrument tells: in the main thread the longest gap is ${((100 * inThread.longestGap) / inThread.ms).toFixed(0)} % of the job`);
  t.equal(inThread.result, signing.result, 'and gives the same signed packet');
  const back = verifying.result.packet?.kind === 'document' ? verifying.result.packet.attachments?.[0]?.content : undefined;
  t.ok(back && Buffer.from(back).equals(Buffer.from(attachment)), 'and carries the attachment byte for byte');
});

t.test('the pool reads untrusted packets as parsePacket does, and refuses bombs with their codes', async (t) => {
  const unsigned = unsignedDocument(OFFICE);
  t.same(await pool.parsePacket(unsigned), parsePacket(unsigned), 'the same packet model, attachments as bytes');
  t.same(await pool.parsePacket(Buffer.from(unsigned)), parsePacket(unsigned), 'from bytes as from text');
  const bomb = unsigned.replace('<edXML:edXMLBody>', `${'<!---->'.repeat(4 * 1024 * 1024)}<edXML:edXMLBody>`);
  // The worker's CPU time counts in the process's: a bound on the work done, whatever the load.
  const start = process.cpuUsage();
  await t.rejects(pool.parsePacket(bomb), { name: 'LtError', code: 'XML_TOO_MANY_COMMENTS' }, 'a 28 MiB comment bomb: XML_TOO_MANY_COMMENTS');
  t.ok(cpuMsSince(start) < 5000, 'refused by the pre-scan, not after parsing');
  await t.rejects(pool.parsePacket(unsigned, { ...DEFAULT_XML_LIMITS, maxBytes: 100 }), { code: 'XML_TOO_LARGE' }, 'the caller\'s limits travel to the worker');
  await t.rejects(pool.parsePacket('<x/>'), { code: 'XML_NOT_EDXML' });

  // Handed over, bytes that own their memory move to the worker instead of being copied.
  const owned = new Uint8Array(Buffer.from(unsigned));
  t.same(await pool.parsePacket(owned, undefined, { handOver: true }), parsePacket(unsigned), 'handed over: the same packet');
  t.equal(owned.byteLength, 0, 'and the bytes moved: the caller\'s view is empty');
  const pooled = Buffer.from('<x/>');
  await t.rejects(pool.parsePacket(pooled, undefined, { handOver: true }), { code: 'XML_NOT_EDXML' });
  t.equal(pooled.toString(), '<x/>', 'a small Buffer shares Node\'s pool with others: it is copied, never moved');
});

t.test('attachment bytes move from the worker to the caller: the same bytes, each buffer listed once', async (t) => {
  const scan = new Uint8Array(randomBytes(1024 * 1024 + 1));
  const note = new Uint8Array(randomBytes(10));
  const unsigned = buildPacket(documentFrom(OFFICE, { attachments: [{ name: 'ban-ve.pdf', content: scan }, { name: 'ghi-chu.txt', content: note }] }));
  const contents = (packet: unknown): Buffer[] => ((packet as { attachments: Array<{ content: Uint8Array }> }).attachments ?? []).map((a) => Buffer.from(a.content));
  const signed = await pool.sign(unsigned, identityMaterial(OFFICE));
  const verified = await pool.verify(signed);
  t.equal(verified.report.valid, true);
  t.same(contents(verified.packet), [Buffer.from(scan), Buffer.from(note)], 'verified: every attachment byte for byte');
  t.same(contents(await pool.parsePacket(unsigned)), [Buffer.from(scan), Buffer.from(note)], 'parsed: every attachment byte for byte');

  const parsed = parsePacket(unsigned);
  if (parsed.kind !== 'document' || !parsed.attachments) return t.fail('a document with attachments');
  const moved = transferablesOf({ ok: true, op: 'parse', packet: parsed });
  t.same(moved, parsed.attachments.map((a) => a.content.buffer), 'what the parser decodes owns its buffer: both move');
  const shared = new Uint8Array(64);
  const twice: CryptoJobResult = { ok: true, op: 'parse', packet: { ...parsed, attachments: [{ ...parsed.attachments[0]!, content: shared }, { ...parsed.attachments[1]!, content: shared }] } };
  t.same(transferablesOf(twice), [shared.buffer], 'a buffer two attachments share is listed once (postMessage refuses it twice)');
  const view: CryptoJobResult = { ok: true, op: 'parse', packet: { ...parsed, attachments: [{ ...parsed.attachments[0]!, content: new Uint8Array(128).subarray(64) }] } };
  t.same(transferablesOf(view), [], 'a view of part of a buffer stays: moving it would take the rest along');
  t.equal(transferablesOf({ ok: true, op: 'verify', verification: verified }).length, 2, "a verification's packet moves its attachments too");
  t.same(transferablesOf({ ok: false, error: { code: 'XML_MALFORMED', message: 'no', context: {} } }), [], 'a failed job moves nothing');
  t.same(transferablesOf({ ok: true, op: 'sign', xml: signed }), [], 'a signed text has no buffer');
});

t.test('signBytes: the signed packet as the UTF-8 of what sign gives, the unsigned bytes handed over', async (t) => {
  const packet = documentFrom(OFFICE, { subject: 'Bản vẽ quy hoạch chi tiết', attachments: [{ name: 'ban-ve.pdf', content: new Uint8Array(randomBytes(1024 * 1024)) }] });
  const material = identityMaterial(OFFICE);
  const text = await pool.sign(buildPacket(packet), material);
  const unsigned = buildPacketBytes(packet);
  const bytes = await pool.signBytes(unsigned, material, { handOver: true });
  t.ok(bytes.equals(Buffer.from(text, 'utf8')), 'byte for byte the UTF-8 of the signed text');
  t.equal(unsigned.byteLength, 0, 'the unsigned bytes moved to the worker');
  t.equal(bytes.buffer.byteLength, bytes.byteLength, 'the signed bytes own their buffer (moved, not a view of a pool)');
  t.equal((await pool.verify(bytes)).report.valid, true, 'and they verify');
  const kept = buildPacketBytes(packet);
  t.ok((await pool.signBytes(kept, material)).equals(bytes), 'without handOver the same');
  t.ok(kept.byteLength > 0, "and the caller's bytes stay");
});

t.test('bytes lent for a verification move to the worker and back: the same verification, the same bytes', async (t) => {
  const unsigned = buildPacket(documentFrom(OFFICE, { attachments: [{ name: 'ban-ve.pdf', content: new Uint8Array(randomBytes(1024 * 1024)) }] }));
  const signed = await pool.sign(unsigned, identityMaterial(OFFICE));
  const now = new Date();
  const expected = await pool.verify(signed, { now });
  t.equal(expected.report.valid, true);

  // As the broker client assembles a large message: a Buffer that owns its memory.
  const lent = Buffer.allocUnsafeSlow(Buffer.byteLength(signed));
  lent.write(signed);
  const { verification, bytes } = await pool.verifyLent(lent, { now });
  t.same(sent(verification), sent(expected), 'the same report and packet as a verification of a copy');
  t.equal(lent.byteLength, 0, "the bytes moved: the caller's Buffer is empty");
  t.equal(bytes.toString('utf8'), signed, 'and came back whole');

  const altered = signed.replace('<edXML:Subject>', '<edXML:Subject>X');
  const tampered = Buffer.allocUnsafeSlow(Buffer.byteLength(altered));
  tampered.write(altered);
  const refused = await pool.verifyLent(tampered, { now });
  t.match(refused.verification.report, { valid: false, errors: [{ code: 'SIG_DIGEST_MISMATCH' }] }, 'an altered packet is reported, not thrown');
  t.equal(refused.bytes.toString('utf8'), altered, 'and its bytes come back all the same');

  const again = Buffer.allocUnsafeSlow(Buffer.byteLength(signed));
  again.write(signed);
  t.equal((await pool.verifyLent(again, { now, releaseInput: true })).bytes.toString('utf8'), signed, 'lent bytes come back whole even when the options say to release them');

  const pooled = Buffer.from('<x/>');
  const small = await pool.verifyLent(pooled, { now });
  t.equal(small.bytes, pooled, "bytes in Node's shared pool cannot move: the caller keeps its own");
  t.equal(pooled.toString(), '<x/>', 'untouched');
});

t.test('a job that exhausts its worker\'s heap fails alone, with WORKER_OUT_OF_MEMORY; the pool replaces the worker', async (t) => {
  // A real cap, far below the default: 99 000 element and attribute nodes, within the parsing
  // budget, need more than 32 MiB of DOM, while a small packet fits, even with the test's
  // TypeScript loader (tsx) in the worker. (A cap smaller than one single allocation,
  // such as the 40 MB text of a 20 MiB packet, would abort the whole process: V8 gives a worker
  // only a little room past its limit to stop. The default cap is far above any such allocation.)
  const capped = new CryptoPool({ trust, size: 1, heapMb: 32 });
  t.teardown(() => capped.close());
  const unsigned = unsignedDocument(OFFICE);
  // The fast reader's tree of these nodes fits in 32 MiB; the comment leaves the packet to xmldom, whose DOM does not.
  const heavy = unsigned.replace('<edXML:edXMLBody>', `<!-- xmldom -->${'<x a="1" b="2"/>'.repeat(33_000)}<edXML:edXMLBody>`);

  // One worker: the small jobs wait behind the heavy one.
  const [crashed, parsed, verified] = await Promise.allSettled([capped.parsePacket(heavy), capped.parsePacket(unsigned), capped.verify(unsigned)]);
  t.match(crashed, { status: 'rejected', reason: { name: 'LtError', code: 'WORKER_OUT_OF_MEMORY', message: /parse job needed more than the 32 MiB/ } }, 'the job that exhausted the heap fails with a clear error');
  t.equal(parsed.status === 'fulfilled' && parsed.value.kind, 'document', 'the job queued behind it runs, on a new worker');
  t.same(verified.status === 'fulfilled' && verified.value.report.errors.map((e) => e.code), ['SIG_MISSING'], 'and so does the next');
  t.equal((await pool.parsePacket(heavy)).kind, 'document', 'under the default cap the same packet is read');
});

t.test('workers start when a job needs them and stop after idleMs without one', async (t) => {
  const lazy = new CryptoPool({ trust, size: 2, idleMs: 50 });
  t.teardown(() => lazy.close());
  t.equal(lazy.threads, 0, 'no worker before the first job: an idle node holds no isolate');
  // Counted as the jobs are handed out: how long a job takes under load does not matter.
  const signing = lazy.sign(unsignedDocument(OFFICE), identityMaterial(OFFICE));
  t.equal(lazy.threads, 1, 'one job, one worker');
  const signed = await signing;
  const both = Promise.all([lazy.verify(signed), lazy.verify(signed)]);
  t.equal(lazy.threads, 2, 'two jobs at once, both workers');
  await both;
  await waitForCount('the idle workers to stop', () => (lazy.threads === 0 ? 1 : 0), 1, { intervalMs: 10 });
  const again = lazy.verify(signed);
  t.equal(lazy.threads, 1, 'after they stopped, the next job starts a worker');
  t.equal((await again).report.valid, true, 'and runs');
});

t.test('a job that arrives while an idle worker stops runs on a new worker, and so does everything around it', async (t) => {
  const signed = await pool.sign(unsignedDocument(OFFICE), identityMaterial(OFFICE));
  const lazy = new CryptoPool({ trust, size: 1, idleMs: 1 });
  t.teardown(() => lazy.close());

  // The job is handed over in the very turn the pool tells the idle worker to stop: the worker
  // is still running, its exit comes later.
  const terminate = Worker.prototype.terminate;
  let arrived: Promise<Verification> | undefined;
  let stopped = 0;
  Worker.prototype.terminate = function (this: Worker) {
    stopped += 1;
    arrived ??= lazy.verify(signed);
    return terminate.call(this);
  };
  try {
    t.equal((await lazy.verify(signed)).report.valid, true);
    await waitForCount('the idle worker to be stopped', () => stopped, 1, { intervalMs: 5 });
  } finally {
    Worker.prototype.terminate = terminate;
  }
  t.equal((await (arrived as Promise<Verification>)).report.valid, true, 'the job that came as the worker stopped is verified');

  // Jobs a few milliseconds apart with a 1 ms idle period: workers stop and start all the time.
  const results = [];
  for (let i = 0; i < 40; i++) {
    results.push(lazy.verify(signed));
    await new Promise((resolve) => setTimeout(resolve, i % 4));
  }
  const reports = await Promise.all(results);
  t.ok(reports.every((v) => v.report.valid), 'none of 40 jobs among stopping workers is lost or fails');
});

t.test('idleMs 0: a worker, once started, is never stopped', async (t) => {
  const steady = new CryptoPool({ trust, size: 1, idleMs: 0 });
  t.teardown(() => steady.close());
  const terminate = Worker.prototype.terminate;
  let stopped = 0;
  Worker.prototype.terminate = function (this: Worker) {
    stopped += 1;
    return terminate.call(this);
  };
  try {
    await steady.parsePacket(unsignedDocument(OFFICE));
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    Worker.prototype.terminate = terminate;
  }
  t.equal(stopped, 0, 'no worker was told to stop');
  t.equal(steady.threads, 1);
});

t.test('an urgent job waiting for a worker goes before every normal one, after the urgent ones already waiting', async (t) => {
  const single = new CryptoPool({ trust, size: 1 });
  t.teardown(() => single.close());
  const office = identityMaterial(OFFICE);
  const signed = await single.sign(unsignedDocument(OFFICE), office);
  const finished: string[] = [];
  const job = (name: string, urgent: boolean): Promise<void> =>
    (name.startsWith('sign') ? single.sign(unsignedDocument(OFFICE), office, { urgent }) : single.verify(signed, { urgent })).then(() => void finished.push(name));
  // The one worker is busy with the first job; everything else waits in the pool's queue.
  const all = [
    job('verify normal 1', false),
    job('verify normal 2', false),
    job('sign normal 3', false),
    job('verify urgent 1', true),
    job('verify normal 4', false),
    job('sign urgent 2', true),
  ];
  await Promise.all(all);
  t.same(finished, ['verify normal 1', 'verify urgent 1', 'sign urgent 2', 'verify normal 2', 'sign normal 3', 'verify normal 4'], 'the running job ends, then the urgent ones in their order, then the normal ones in theirs');
  const plain = await single.verify(signed, { urgent: true });
  t.equal(plain.report.valid, true, 'an urgent verification is the same verification');
});

t.test('close() lets the process exit', async (t) => {
  const dir = t.testdir();
  const poolUrl = pathToFileURL(join(REPO, 'src/crypto/pool.ts')).href;
  const script = (close: boolean) => `
    import { CryptoPool } from ${JSON.stringify(poolUrl)};
    const trust = ${JSON.stringify(trust)};
    const identity = ${JSON.stringify(identityMaterial(OFFICE))};
    const pool = new CryptoPool({ trust, size: 2 });
    const signed = await pool.sign(${JSON.stringify(unsignedDocument(OFFICE))}, identity);
    const { report } = await pool.verify(signed);
    ${close ? 'await pool.close();' : ''}
    console.log('done', report.valid);
  `;
  for (const close of [true, false]) {
    const file = join(dir, `pool-${close ? 'closed' : 'idle'}.mts`);
    writeFileSync(file, script(close));
    const start = performance.now();
    // The child runs under the same TypeScript loader as this test (its worker threads inherit it).
    const r = spawnSync(process.execPath, [...process.execArgv, file], { cwd: REPO, encoding: 'utf8', timeout: EVENT_DEADLINE_MS });
    const ms = performance.now() - start;
    t.equal(r.signal, null, `${close ? 'closed' : 'idle, unclosed'} pool: the process was not killed by the timeout (${ms.toFixed(0)} ms)`);
    t.equal(r.status, 0, 'it exited by itself with status 0', { stderr: r.stderr });
    t.equal(r.stdout.trim(), 'done true', 'after finishing its work');
  }

  const closed = new CryptoPool({ trust, size: 1 });
  await closed.close();
  await t.rejects(closed.verify('<x/>'), { code: 'INTERNAL', message: /closed/ }, 'a closed pool refuses new work');
});
