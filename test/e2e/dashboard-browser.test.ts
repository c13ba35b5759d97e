/**
 * The operators' dashboard in a real browser (Debian's Chromium driven by playwright-core)
 * over a real exchange: the hub with its dashboard on 127.0.0.1:<free port>, edges for three
 * agencies and a fourth provisioned but not running, real documents and statuses through
 * RabbitMQ, and a dead letter made the way a stranger would make one (a packet published to
 * the submit exchange without a user-id: the hub dead-letters it as SENDER_UNKNOWN and
 * collects it). In the browser: log in, read the overview (and watch it refresh itself), find
 * a document and read its recipients' timelines, read why the dead letter died and look at its
 * bytes, try to replay it (the router refuses it again) and discard it, download the usage CSV,
 * switch to English, use a phone (375 px). Every page visited in Vietnamese is searched for
 * English: the words of the English catalogue that are not Vietnamese too must not show, except
 * in what is marked as another language (the original English of an error, folded away as
 * detail), identifiers, and names from the configuration.
 *
 * On failure, screenshots of the page go to a temporary directory whose path is printed.
 * LT_UPDATE_SCREENSHOTS=1 also writes docs/dashboard-overview.png (the overview at laptop
 * size, as the README shows it); LT_DASHBOARD_SHOTS=<dir> saves every page visited, for a
 * look at the layout. Needs /usr/bin/chromium (`apt-get install -y chromium`).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { chromium, type Browser, type Page } from 'playwright-core';
import t from 'tap';
import { addUser } from '../../src/hub/users.js';
import { A, B, EVENT_DEADLINE_MS, agency, documentPacket, hubDeliveries, letter, openExchange, signAs, stageAt, waitFor } from '../helpers/exchange.js';
import { publishOptions } from '../../src/broker/message.js';
import { withCredentials } from '../../src/broker/connection.js';
import { agencyPermissions } from '../../src/broker/topology.js';
import { addAgency } from '../../src/hub/provisioning.js';
import { REPO } from '../helpers/pki.js';
import { CHROMIUM, CHROMIUM_ARGS, englishOn } from '../helpers/dashboard-browser.js';

const ICT = '000.00.14.H12'; // Sở Thông tin và Truyền thông (ECDSA certificate)
const CITY = '000.00.31.H12'; // UBND thành phố Cà Mau: provisioned, its edge never started
const UNKNOWN = '000.00.77.H12'; // in no directory: bounced
const LATE = '000.21.31.H12'; // UBND phường 5: its edge sends before the operator registers it
const PASSWORD = 'operator-password-for-the-browser';

if (!existsSync(CHROMIUM)) {
  t.fail(`${CHROMIUM} is missing: install Debian's Chromium ("apt-get install -y chromium"; .ci/run does) or set LT_CHROMIUM`);
} else {
  t.test('an operator runs the dashboard in Chromium over a real exchange', async (t) => {
    const { exchange } = await openExchange(t, [agency(A), agency(B), agency(ICT), agency(CITY, { start: false })], {
      prefixBase: 'lt-dash',
      hubConfig: { dashboard: { host: '127.0.0.1', port: 0, staleAfterMinutes: 30, secureCookies: false } },
    });
    const url = exchange.dashboardUrl;
    if (!url) throw new Error('the hub did not start its dashboard');
    t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'port 0 bound to a real port');
    addUser(exchange.hub.db, { name: 'operator', role: 'operator', password: PASSWORD }, 'test');

    // Traffic: A → B (accepted by B), A → B, CITY (its edge is down) and UNKNOWN (bounced), B → A, ICT → A.
    const a = exchange.edge(A);
    const b = exchange.edge(B);
    const first = await a.outbox.submitDocument(letter([B], 125), 'test');
    const second = await a.outbox.submitDocument(letter([B, CITY, UNKNOWN], 126), 'test');
    const third = await b.outbox.submitDocument(letter([A], 127, { code: { codeNumber: '127', codeNotation: 'STC-NS' } }), 'test');
    const fourth = await exchange.edge(ICT).outbox.submitDocument(letter([A], 128, { code: { codeNumber: '128', codeNotation: 'STTTT-VP' } }), 'test');
    await waitFor('B received the first document (01)', () => stageAt(a, first.documentId, B) === '01');
    await b.lifecycle.act(first.documentId, { code: '03' });
    await waitFor("the hub saw B's 03", () => hubDeliveries(exchange, first.documentId)[0]?.stage === '03');
    await waitFor('the other documents arrived', () => stageAt(a, second.documentId, B) === '01' && stageAt(b, third.documentId, A) === '01' && stageAt(exchange.edge(ICT), fourth.documentId, A) === '01');

    // A dead letter: a packet without user-id on the submit exchange, published as the broker admin.
    const connection = await amqp.connect(exchange.amqpUrl);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish(exchange.names.submit, 'normal', Buffer.from('<edXML>not from any agency</edXML>'), {
        persistent: true,
        messageId: randomUUID(),
        type: 'edoc',
        headers: { 'x-lt-from': '000.00.77.H12', 'x-lt-document-id': '000.00.77.H12,2026/01/01,1/XX' },
      });
      await channel.waitForConfirms();
      await channel.close();
    } finally {
      await connection.close();
    }
    await waitFor('the hub collected the dead letter', () => exchange.hub.deadLetters.list({ status: 'pending' }).total === 1);
    const deadLetter = exchange.hub.deadLetters.list().items[0];
    t.match(deadLetter, { queue: exchange.names.hubInbound.normal, reason: 'rejected', sender: null, claimedFrom: '000.00.77.H12' });

    // A dead letter worth replaying: a ward's edge that sent before the operator registered its
    // agency (its broker user was made by hand); once registered, the replay routes it.
    const brokerUser = exchange.names.agencyUser(LATE);
    await exchange.api.putUser(brokerUser, 'made-by-hand-before-registration');
    await exchange.api.setPermissions(brokerUser, agencyPermissions(exchange.names, { organId: LATE, queueToken: '' }));
    const early = documentPacket(LATE, [B], 129, { code: { codeNumber: '129', codeNotation: 'UBND-P5' } });
    const earlyId = randomUUID();
    const ward = await amqp.connect(withCredentials(exchange.amqpUrl, brokerUser, 'made-by-hand-before-registration'));
    try {
      const channel = await ward.createConfirmChannel();
      channel.publish(
        exchange.names.submit,
        'normal',
        Buffer.from(await signAs(early, LATE)),
        publishOptions({ packetId: earlyId, type: 'edoc', from: LATE, to: [B], priority: '0', documentId: early.kind === 'document' ? early.documentId : '', lane: 'normal', userId: brokerUser }),
      );
      await channel.waitForConfirms();
      await channel.close();
    } finally {
      await ward.close();
    }
    const lateLetter = await waitFor('the hub dead-lettered the early packet', () => exchange.hub.deadLetters.list({ status: 'pending' }).items.find((d) => d.packetId === earlyId));
    await addAgency({ db: exchange.hub.db, api: exchange.api, names: exchange.names, actor: 'test' }, { organId: LATE, name: 'UBND phường 5, thành phố Cà Mau' });

    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: EVENT_DEADLINE_MS });
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true, locale: 'vi-VN' });
    // Playwright's own 30 s default for every action and wait is a clock a loaded machine beats.
    context.setDefaultTimeout(EVENT_DEADLINE_MS);
    context.setDefaultNavigationTimeout(EVENT_DEADLINE_MS);
    const page: Page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    /** Fails on English words in what the current (Vietnamese) page shows. */
    const onlyVietnamese = async (what: string): Promise<void> => {
      t.same(await englishOn(page), [], `${what}: no English in the Vietnamese interface (${page.url().replace(url, '')})`);
    };
    let shots = 0;
    const shot = async (name: string): Promise<void> => {
      const dir = process.env.LT_DASHBOARD_SHOTS;
      if (!dir) return;
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, `${String(++shots).padStart(2, '0')}-${name}.png`), fullPage: true });
    };
    t.teardown(async () => {
      if (!t.passing()) {
        const dir = mkdtempSync(join(tmpdir(), 'lt-dashboard-failure-'));
        for (const [i, p] of context.pages().entries()) await p.screenshot({ path: join(dir, `page-${i}.png`), fullPage: true }).catch(() => {});
        console.error(`# dashboard-browser: screenshots of the failed run in ${dir} (last URL ${page.url()})`);
      }
      await browser.close();
    });

    // Log in.
    await page.goto(`${url}/`);
    t.match(page.url(), /\/login\?next=%2F$/, 'sent to the login page');
    t.notOk(await page.getByText(/hết hạn/).count(), 'a first visit: no "session expired"');
    await onlyVietnamese('the login page');
    await page.getByLabel('Tên đăng nhập').fill('operator');
    await page.getByLabel('Mật khẩu').fill('wrong password!');
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByText('Tên đăng nhập hoặc mật khẩu không đúng.').waitFor();
    await page.getByLabel('Mật khẩu').fill(PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.waitForURL(`${url}/`);
    const cookies = await context.cookies();
    t.match(cookies.find((c) => c.name === 'lt_session'), { httpOnly: true, sameSite: 'Strict' }, 'the session cookie');

    // The overview: the day's figures, the queues of both lanes, CITY's edge not consuming.
    const stat = (field: string) => page.locator(`.stats [data-field="${field}"]`);
    t.equal(await stat('routedToday').textContent(), '4');
    t.equal(await stat('deadLettersPending').textContent(), '2');
    t.equal(await stat('bouncedToday').textContent(), '1', 'the copy of 126 for an agency this hub does not know');
    t.equal(await stat('inFlight').textContent(), '1', "CITY's copy of document 126 has no receipt");
    const cityRow = page.locator('#queue-rows tr', { hasText: CITY });
    // Quorum queue statistics reach the management API a few seconds after the queues exist;
    // the page redraws itself every 5 s until they are there.
    await cityRow.getByText('Không có kết nối nhận').waitFor({ timeout: EVENT_DEADLINE_MS });
    await page.locator('#queue-rows tr', { hasText: A }).getByText('Đang nhận').waitFor({ timeout: EVENT_DEADLINE_MS });
    await page.locator('#stale').getByText(CITY).waitFor();
    t.notOk(await page.locator('#stale').getByText(A).count(), 'A is not listed as silent');
    t.ok(await page.locator('#broker-error').isHidden(), 'the broker API answers');
    t.match(await page.locator('#hub-queues').textContent(), /^Hàng đợi vào của trục: khẩn \d+ · thường \d+ gói tin chờ$/, 'dead letters are counted by the card alone');
    t.match(await page.locator('.user').textContent(), /operator \(cán bộ vận hành\)/);
    await onlyVietnamese('the overview');

    await shot('overview');
    if (process.env.LT_UPDATE_SCREENSHOTS === '1') {
      // Let the broker's statistics settle (each edge has taken what was waiting for it).
      await page
        .waitForFunction((city) => Array.from(document.querySelectorAll('#queue-rows tr')).every((tr) => tr.textContent?.includes(city) || !tr.querySelector('td.waiting')), CITY, {
          timeout: EVENT_DEADLINE_MS,
        })
        .catch(() => {});
      mkdirSync(join(REPO, 'docs'), { recursive: true });
      await page.screenshot({ path: join(REPO, 'docs', 'dashboard-overview.png'), fullPage: true });
      t.comment('wrote docs/dashboard-overview.png');
    }

    // Live: a new document shows up without reloading the page.
    const updated = await page.locator('#updated').textContent();
    await a.outbox.submitDocument(letter([B], 129), 'test');
    await page.locator('.stats [data-field="routedToday"]', { hasText: /^5$/ }).waitFor({ timeout: EVENT_DEADLINE_MS });
    t.not(await page.locator('#updated').textContent(), updated, 'the "updated at" time moved on');

    // Find document 125 and read its timeline.
    await page.getByRole('link', { name: 'Văn bản', exact: true }).click();
    await page.getByLabel('Tìm theo mã văn bản, số ký hiệu hoặc trích yếu').fill('125/UBND-VP');
    await page.getByRole('button', { name: 'Tìm' }).click();
    await shot('documents');
    await onlyVietnamese('the documents found');
    await page.getByRole('link', { name: '125/UBND-VP' }).click();
    await page.waitForURL(/\/document\?id=/);
    t.equal(await page.locator('dd.id').textContent(), first.documentId);
    const bCard = page.locator(`article[data-recipient="${B}"]`);
    t.equal(await bCard.locator('[data-stage]').textContent(), 'Đã tiếp nhận (03)');
    t.same(await bCard.locator('.timeline li strong').allTextContents(), ['Đã chuyển đến', 'Đã đến (01)', 'Đã tiếp nhận (03)']);
    await shot('document');
    await page.goto(`${url}/document?id=${encodeURIComponent(second.documentId)}`);
    await shot('document-bounced');
    t.equal(await page.locator(`article[data-recipient="${CITY}"] [data-stage]`).textContent(), 'Đã chuyển đến', 'CITY: delivered, no receipt');
    t.equal(await page.locator(`article[data-recipient="${B}"] [data-stage]`).textContent(), 'Đã đến (01)');
    t.equal(await page.locator(`article[data-recipient="${UNKNOWN}"] [data-stage]`).textContent(), 'Bị trả lại');
    const bounce = page.locator(`article[data-recipient="${UNKNOWN}"] .note`);
    t.equal(await bounce.locator('[data-code]').getAttribute('data-code'), 'AGENCY_UNKNOWN');
    await bounce.getByText('Cơ quan nhận chưa kết nối với trục liên thông (không có trong danh bạ); cần gửi bản giấy.').waitFor();
    t.ok(await bounce.locator('[lang="en"]').isHidden(), 'the English original is folded away');
    await bounce.getByText('Nguyên văn thông báo (tiếng Anh)').click();
    t.match(await bounce.locator('[lang="en"]').textContent(), /not connected to this hub/, "the bounce's original reason, on request");
    await onlyVietnamese('a journey with a bounce');

    // The early packet: replayed now that its agency is registered, and delivered.
    await page.getByRole('link', { name: 'Gói tin lỗi', exact: true }).click();
    const lateRow = page.locator(`tr[data-dead-letter="${lateLetter.id}"]`);
    await lateRow.getByRole('button', { name: 'Phát lại' }).click();
    await page.getByText(`Đã phát lại gói tin lỗi #${lateLetter.id}.`).waitFor();
    await shot('replayed');
    t.match(exchange.hub.deadLetters.get(lateLetter.id), { status: 'replayed', resolvedBy: 'operator:operator' }, 'replayed, by the operator');
    await waitFor("the replayed document in B's inbox", () => b.document(early.kind === 'document' ? early.documentId : '') !== undefined);
    t.pass('the replayed document reached its recipient');
    await page.getByRole('link', { name: 'Gói tin lỗi', exact: true }).click();

    // The stranger's dead letter: why it died, what its bytes are; replay (the router refuses it again), then discard it.
    const row = page.locator(`tr[data-dead-letter="${deadLetter?.id}"]`);
    await shot('dead-letters');
    await onlyVietnamese('the dead letters');
    t.match(await row.textContent(), /rejected/, "RabbitMQ's reason");
    t.equal(await row.locator('.cause').getAttribute('data-code'), 'SENDER_UNKNOWN', 'the cause the hub knows');
    t.match(await row.locator('.cause').textContent(), /Tài khoản RabbitMQ đã gửi gói tin không thuộc cơ quan nào đã đăng ký/);
    t.equal(await row.locator('[data-field="packetId"]').textContent(), deadLetter?.packetId);
    t.equal(await row.locator('[data-field="documentId"]').textContent(), '000.00.77.H12,2026/01/01,1/XX');
    t.match(await row.textContent(), new RegExp(exchange.names.hubInbound.normal.replace(/\./g, '\\.')));
    await row.getByRole('link', { name: 'Xem chi tiết' }).click();
    await page.waitForURL(`${url}/dead-letters/${deadLetter?.id}`);
    await page.locator('[data-payload="unreadable"]').getByText('Không đọc được nội dung thành gói tin edXML', { exact: false }).waitFor();
    t.equal(await page.locator('[data-payload="unreadable"] [data-code]').getAttribute('data-code'), 'XML_NOT_EDXML', 'what could not be read, and why');
    t.match(await page.locator('[data-field="publisher"]').textContent(), /không có \(gửi không kèm user-id\)/);
    await shot('dead-letter');
    await onlyVietnamese('a dead letter');
    await page.getByRole('link', { name: 'Xem nội dung' }).click();
    t.equal(await page.locator('pre.payload').textContent(), '<edXML>not from any agency</edXML>', 'the bytes, as text');
    t.match(exchange.hub.db.prepare("SELECT actor, action FROM audit WHERE action = 'dead-letter.payload-view' ORDER BY seq DESC").get(), { actor: 'operator:operator' }, 'the look is audited');
    await onlyVietnamese('the bytes of a dead letter');
    const [bytes] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Tải về' }).click()]);
    t.equal(readFileSync((await bytes.path()) as string, 'utf8'), '<edXML>not from any agency</edXML>', 'and downloaded');
    await page.getByRole('link', { name: 'Gói tin lỗi', exact: true }).click();
    await row.getByRole('button', { name: 'Phát lại' }).click();
    await page.getByText(`Trục vẫn từ chối gói tin lỗi #${deadLetter?.id} khi phát lại`, { exact: false }).waitFor();
    await shot('replay-refused');
    await onlyVietnamese('the refused replay');
    await page.getByRole('link', { name: 'Quay lại' }).click();
    await row.getByRole('button', { name: 'Hủy', exact: true }).click();
    await page.getByText(`Đã hủy gói tin lỗi #${deadLetter?.id}.`).waitFor();
    t.equal(await page.locator('tr[data-dead-letter]').count(), 0, 'nothing pending');
    await page.getByRole('link', { name: 'Tất cả' }).click();
    t.equal(await row.getAttribute('data-status'), 'discarded');
    t.match(await row.textContent(), /Đã hủy[\s\S]*operator:operator/);
    await shot('dead-letters-all');
    t.match(exchange.hub.deadLetters.get(deadLetter?.id ?? 0), { status: 'discarded', resolvedBy: 'operator:operator' });

    // The usage report of this month, and its CSV.
    await page.getByRole('link', { name: 'Báo cáo', exact: true }).click();
    await onlyVietnamese('the usage report');
    const aRow = page.locator(`table.report tr[data-organ-id="${A}"]`);
    t.equal(await aRow.locator('[data-field="sent"]').textContent(), '3');
    t.equal(await aRow.locator('[data-field="received"]').textContent(), '2');
    t.equal(await page.locator(`table.report tr[data-organ-id="${B}"] [data-field="received"]`).textContent(), '4', "three from A's edge and the ward's replayed one");
    t.ok(await page.locator('figure.chart svg').isVisible(), 'the chart');
    await shot('report');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv-link').click()]);
    t.match(download.suggestedFilename(), /^lienthong-usage-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync((await download.path()) as string, 'utf8');
    const lines = csv.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    t.equal(lines[0], 'Mã định danh,Tên cơ quan,Đã gửi,Đã nhận,Số báo nhận đúng hạn,Tỷ lệ báo nhận đúng hạn,Thời gian tiếp nhận trung bình (giờ),Quá hạn', 'in the interface language');
    t.match(lines.find((l) => l.startsWith(`${A},`)), /^000\.00\.01\.H12,Văn phòng UBND tỉnh Cà Mau,3,2,2,1,,0$/);
    t.match(lines.find((l) => l.startsWith(`${B},`)), /^000\.00\.05\.H12,Sở Tài chính tỉnh Cà Mau,1,4,4,1,[0-9.]+,0$/);
    t.match(lines.find((l) => l.startsWith(`${LATE},`)), /^000\.21\.31\.H12,"UBND phường 5, thành phố Cà Mau",1,0,0,,,0$/, 'the ward, registered late');
    t.match(lines.find((l) => l.startsWith(`${CITY},`)), /^000\.00\.31\.H12,UBND thành phố Cà Mau,0,1,0,0,,0$/);

    // English.
    await page.getByRole('button', { name: 'EN', exact: true }).click();
    await page.getByRole('heading', { name: 'Usage report' }).waitFor();
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    await page.getByText('Documents routed today').waitFor();
    await shot('overview-en');
    await page.getByRole('link', { name: 'Agencies', exact: true }).click();
    await shot('agencies-en');
    await page.getByRole('link', { name: 'Overview', exact: true }).click();
    t.equal(await page.locator('html').getAttribute('lang'), 'en');
    await page.getByRole('button', { name: 'VI', exact: true }).click();
    await page.getByText('Văn bản đã chuyển hôm nay').waitFor();
    await page.getByRole('link', { name: 'Cơ quan', exact: true }).click();
    await onlyVietnamese('the agencies');

    // A phone (375 px): the page never scrolls sideways, every menu item is on screen, and the
    // queue table's last column is visible or reachable by scrolling the table itself.
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${url}/`);
    await page.locator('#queue-rows tr').first().waitFor();
    await shot('overview-phone');
    const onScreen = (box: { x: number; width: number } | null): boolean => box !== null && box.x >= 0 && box.x + box.width <= 375;
    for (const name of ['Tổng quan', 'Cơ quan', 'Văn bản', 'Gói tin lỗi', 'Báo cáo']) {
      t.ok(onScreen(await page.locator('nav.nav').getByRole('link', { name, exact: true }).boundingBox()), `menu item "${name}" on screen`);
    }
    const state = page.locator('table.queues th').nth(3);
    const stateVisible = onScreen(await state.boundingBox());
    const scrollsInside = await page.locator('table.queues').evaluate((table) => {
      const wrap = table.parentElement as HTMLElement;
      return wrap.scrollWidth > wrap.clientWidth && getComputedStyle(wrap).overflowX === 'auto';
    });
    t.ok(stateVisible || scrollsInside, `the queue state column: visible (${stateVisible}) or the table scrolls inside its box (${scrollsInside})`);
    if (!stateVisible) {
      await state.scrollIntoViewIfNeeded();
      t.ok(onScreen(await state.boundingBox()), 'scrolled into view inside the table');
    }
    for (const path of ['/', '/agencies', '/dead-letters?status=all', `/dead-letters/${deadLetter?.id}`, '/reports', `/document?id=${encodeURIComponent(second.documentId)}`]) {
      await page.goto(`${url}${path}`);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      t.ok(width <= 375, `${path} fits a phone (${width} px)`);
      await shot(`phone-${path.slice(1, 9).replace(/\W/g, '')}`);
    }

    await page.getByRole('button', { name: 'Đăng xuất' }).click();
    await page.getByText('Đã đăng xuất.').waitFor();
    t.equal((await context.cookies()).find((c) => c.name === 'lt_session'), undefined, 'the cookie is gone');
  });
}
