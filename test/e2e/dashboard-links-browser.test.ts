/**
 * A link down, in the operators' browser (issue 14, point 3: "the dashboard shows each link's
 * backlog and last success, nothing is lost"). A hub with its dashboard and one link, to a
 * province whose broker cannot be reached (a port nobody listens on), and two agencies with
 * their edges; one agency sends two documents to agencies behind the link, one of them urgent.
 * The hub hands each to the link's queue, where they wait. In Chromium: the overview's line
 * says one link down with packets waiting, and counts a third document sent while the page is
 * open (its script redraws it); the Links page shows the link down and highlighted,
 * its backlog per lane, the documents sent through it, nothing forwarded since the start; the
 * report of the month has the link's row; all of it in Vietnamese without a word of English,
 * then in English; on a phone the page does not scroll sideways. LT_DASHBOARD_SHOTS=<dir> saves
 * the pages visited, for a look at the layout. Needs /usr/bin/chromium.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import t from 'tap';
import { devPath } from '../../src/demo/local-exchange.js';
import { federationSettings } from '../../src/federation/config.js';
import { addUser } from '../../src/hub/users.js';
import { CHROMIUM, CHROMIUM_ARGS, englishOn } from '../helpers/dashboard-browser.js';
import { A, B, EVENT_DEADLINE_MS, agency, letter, openExchange, waitFor } from '../helpers/exchange.js';

const X = '000.00.01.H53';
const Y = '000.00.05.H53';
const PASSWORD = 'operator-password-for-the-links';

/** A local port with nothing listening on it: connecting there is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

if (!existsSync(CHROMIUM)) {
  t.fail(`${CHROMIUM} is missing: install Debian's Chromium ("apt-get install -y chromium") or set LT_CHROMIUM`);
} else {
  t.test('a link down: its backlog and last success in the dashboard, in both languages', async (t) => {
    const prefix = `lt-dashlink-${randomBytes(3).toString('hex')}`;
    const federation = federationSettings(
      {
        links: [
          {
            name: 'h53',
            kind: 'amqp',
            patterns: ['*.H53'],
            amqp: { url: `amqp://lt.link.h12:not-reachable@127.0.0.1:${await closedPort()}/`, prefix: 'lt' },
            trust: { anchors: [devPath('root-ca.pem')], intermediates: [devPath('issuing-ca.pem')], dev: true },
          },
        ],
      },
      { file: 'hub.json', baseDir: process.cwd(), env: {}, hubOrganId: '000.00.90.H12', hubPrefix: prefix },
    );
    if (!federation) throw new Error('no federation settings');
    const { exchange } = await openExchange(t, [agency(A), agency(B)], {
      prefix,
      hubConfig: { dashboard: { host: '127.0.0.1', port: 0, staleAfterMinutes: 30, secureCookies: false }, federation },
    });
    const url = exchange.dashboardUrl;
    if (!url) throw new Error('the hub did not start its dashboard');
    addUser(exchange.hub.db, { name: 'operator', role: 'operator', password: PASSWORD }, 'test');

    // Two documents for the province behind the link: one normal (to X and Y: one packet), one urgent.
    const a = exchange.edge(A);
    await a.outbox.submitDocument(letter([X, Y], 301), 'test');
    await a.outbox.submitDocument(letter([X], 302, { priority: '1' }), 'test');
    const lane = (l: 'urgent' | 'normal') => exchange.names.federationQueue('h53', l);
    // They wait in the link's queues (the management API counts quorum queues a moment late).
    await waitFor('both documents waiting in the link queues', async () => {
      const [urgent, normal] = await Promise.all([exchange.api.getQueue(lane('urgent')), exchange.api.getQueue(lane('normal'))]);
      return urgent?.messages === 1 && normal?.messages === 1;
    }, { intervalMs: 250 });
    t.equal(exchange.hub.linkStats()[0]?.connected, false, 'the link process cannot reach the remote broker');

    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: EVENT_DEADLINE_MS });
    t.teardown(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'vi-VN' });
    context.setDefaultTimeout(EVENT_DEADLINE_MS);
    context.setDefaultNavigationTimeout(EVENT_DEADLINE_MS);
    const page: Page = await context.newPage();
    const shot = async (name: string): Promise<void> => {
      const dir = process.env.LT_DASHBOARD_SHOTS;
      if (!dir) return;
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, `links-${name}.png`), fullPage: true });
    };
    const onlyVietnamese = async (what: string): Promise<void> => {
      t.same(await englishOn(page), [], `${what}: no English in the Vietnamese interface`);
    };

    await page.goto(`${url}/`);
    await page.getByLabel('Tên đăng nhập').fill('operator');
    await page.getByLabel('Mật khẩu').fill(PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.waitForURL(`${url}/`);

    // The overview's line (the page redraws it every 5 s until the figures are there).
    const summary = page.locator('#links-summary');
    await summary.getByText('1 liên kết · 1 mất kết nối · 2 gói tin chờ chuyển').waitFor();
    t.equal(await summary.getAttribute('class'), 'alert-inline', 'highlighted');
    await onlyVietnamese('the overview with a link down');

    // Live: one more document for the link shows up in the line without reloading the page.
    await a.outbox.submitDocument(letter([Y], 303), 'test');
    await summary.getByText('1 liên kết · 1 mất kết nối · 3 gói tin chờ chuyển').waitFor();
    t.pass('the page script redrew the line');
    await shot('overview');

    // The Links page.
    await page.locator('nav.nav').getByRole('link', { name: 'Liên kết', exact: true }).click();
    await page.waitForURL(`${url}/links`);
    await page.getByRole('heading', { name: 'Liên kết với trục khác' }).waitFor();
    const row = page.locator('tr[data-link="h53"]');
    t.equal(await row.getAttribute('data-state'), 'down');
    t.equal(await row.getAttribute('class'), 'down', 'the row is highlighted');
    t.equal(await row.locator('[data-field="state"]').textContent(), 'Mất kết nối');
    t.equal(await row.locator('[data-field="patterns"]').textContent(), '*.H53');
    t.equal(await row.locator('[data-field="waiting"]').textContent(), '3');
    t.match(await row.locator('[data-field="backlog"]').textContent(), /khẩn 1 · thường 2/);
    t.equal(await row.locator('[data-field="sent"]').textContent(), '3 văn bản (4 nơi nhận) · 0 trạng thái');
    t.equal(await row.locator('[data-field="lastSuccess"]').textContent(), 'Chưa chuyển được gói tin nào từ khi trục khởi động');
    t.ok(await page.locator('#broker-error').isHidden(), 'the broker API answers');
    await shot('links');
    await onlyVietnamese('the Links page');

    // The report of this month: the link's row, and its CSV link.
    await page.locator('nav.nav').getByRole('link', { name: 'Báo cáo', exact: true }).click();
    const reportRow = page.locator('table.links-report tr[data-link="h53"]');
    t.equal(await reportRow.locator('[data-field="documentsSent"]').textContent(), '3');
    t.equal(await reportRow.locator('[data-field="recipientsSent"]').textContent(), '4');
    t.ok(await page.locator('#links-csv-link').isVisible(), 'the links CSV');
    await shot('report');
    await onlyVietnamese('the report with links');

    // English.
    await page.getByRole('button', { name: 'EN', exact: true }).click();
    await page.getByRole('heading', { name: 'Usage report' }).waitFor();
    await page.locator('nav.nav').getByRole('link', { name: 'Links', exact: true }).click();
    await page.getByRole('heading', { name: 'Links to other hubs' }).waitFor();
    t.equal(await row.locator('[data-field="state"]').textContent(), 'Down');
    t.match(await row.locator('[data-field="backlog"]').textContent(), /urgent 1 · normal 2/);
    t.equal(await row.locator('[data-field="lastSuccess"]').textContent(), 'Nothing forwarded since the hub started');
    await shot('links-en');
    await page.getByRole('button', { name: 'VI', exact: true }).click();
    await page.getByRole('heading', { name: 'Liên kết với trục khác' }).waitFor();

    // A phone: the page never scrolls sideways (the table scrolls inside its box).
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${url}/links`);
    t.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 375, '/links fits a phone');
    await shot('links-phone');

    // Nothing was lost: every packet still waits for the link.
    t.match(await exchange.api.getQueue(lane('normal')), { messages: 2 });
    t.match(await exchange.api.getQueue(lane('urgent')), { messages: 1 });
  });
}
