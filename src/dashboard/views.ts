/**
 * The dashboard's pages, rendered on the server as plain HTML (every value escaped by `html`),
 * with one stylesheet and one small script (assets.ts). Operators see the buttons that change
 * things; viewers do not (the server refuses them anyway).
 */
import type { DeadLetterCause } from '../hub/dead-letter-cause.js';
import { untrustedLine } from '../untrusted.js';
import type { AgencyActivity, JourneyEvent, LinkTraffic, LINK_CSV_COLUMNS, UsageRow, USAGE_CSV_COLUMNS } from '../hub/reports.js';
import type { DeliveryRow } from '../store/deliveries.js';
import type { DeadLetterDetail, ExplainedDeadLetter, FoundDocument, JourneyData, LinksData, LinksSummary, LinkView, OverviewData, ReportData } from './data.js';
import { formatDay, formatHours, formatNumber, formatRate, formatTime } from './format.js';
import { html, jsonForScript, type Html } from './html.js';
import { clientMessages, explainCode, hasMessage, type Lang, type MessageKey, type Translate } from './i18n.js';
import type { AgencyQueues, LaneState, QueueSnapshot } from './queues.js';
import type { Session } from './sessions.js';

export type PageId = 'overview' | 'agencies' | 'documents' | 'dead-letters' | 'links' | 'reports' | 'login' | 'error';

export interface PageContext {
  t: Translate;
  lang: Lang;
  session: Session | undefined;
  /** The requested path and query, where the language switch comes back to. */
  path: string;
  hubName: string;
  /** A confirmation to show (after an action), already in the page's language. */
  flash?: string;
  /** Whether the hub has links to other hubs (the menu then has a Links page). */
  links?: boolean;
}

const NAV: Array<{ id: PageId; href: string; key: MessageKey }> = [
  { id: 'overview', href: '/', key: 'nav.overview' },
  { id: 'agencies', href: '/agencies', key: 'nav.agencies' },
  { id: 'documents', href: '/documents', key: 'nav.documents' },
  { id: 'dead-letters', href: '/dead-letters', key: 'nav.deadLetters' },
  { id: 'links', href: '/links', key: 'nav.links' },
  { id: 'reports', href: '/reports', key: 'nav.reports' },
];

/** The strings the page script uses to redraw the overview. */
const CLIENT_KEYS: readonly MessageKey[] = [
  'health.since',
  'overview.updatedAt',
  'overview.refreshFailed',
  'queues.counts',
  'queues.missing',
  'queues.ok',
  'queues.hub',
  'queues.none',
  'queues.unreachableRow',
  'stale.unknown',
  'stale.noConsumer',
  'stale.notConsuming',
  'stale.none',
  'status.active',
  'status.suspended',
  'status.removed',
  'links.summary',
  'links.summaryUnknown',
];

/**
 * An error the hub recorded, for a reader of `ctx.lang`: the code in words (the i18n catalogue),
 * the code itself, and the original message (English, as the hub's log has it) folded away as
 * detail. The message can quote what a sender wrote, so it is shown as one bounded line.
 */
export function explained(ctx: { t: Translate; lang: Lang }, code: string | null | undefined, message: string | null | undefined): Html {
  const words = code ? explainCode(ctx.lang, code) : undefined;
  const original = message ? untrustedLine(message, 2000) : '';
  return html`<span class="cause"${code ? html` data-code="${code}"` : ''}>${words ?? (code ? ctx.t('cause.unknownCode') : original)}${
    code ? html` <span class="id muted">(${code})</span>` : ''
  }</span>${code && original ? html`<details class="detail"><summary>${ctx.t('cause.original')}</summary><span lang="en">${original}</span></details>` : ''}`;
}

/** RabbitMQ's x-death reason in words, with the reason itself (what its documentation names). */
function deadReason(t: Translate, reason: string): Html {
  const key = `deadReason.${reason}`;
  return hasMessage(key) ? html`${t(key)} <span class="id muted">(${reason})</span>` : html`<span class="id">${reason}</span>`;
}

/**
 * A catalogue text whose values are markup: user names are data, not words to translate, so
 * they go in as `translate="no"` spans (the text around them is escaped as usual).
 */
function tMarkup(t: Translate, key: MessageKey, values: Record<string, Html | string>): Html {
  return html`${t(key)
    .split(/\{(\w+)\}/)
    .map((part, i) => (i % 2 === 1 ? (values[part] ?? `{${part}}`) : part))}`;
}

function userName(name: string): Html {
  return html`<span translate="no">${name}</span>`;
}

function statusLabel(t: Translate, status: string): string {
  const key = `status.${status}`;
  return hasMessage(key) ? t(key) : status;
}

export function isOperator(session: Session | undefined): boolean {
  return session?.role === 'operator';
}

function csrfField(session: Session | undefined): Html {
  return html`<input type="hidden" name="_csrf" value="${session?.csrfToken ?? ''}">`;
}

export function layout(ctx: PageContext, page: PageId, title: string, body: Html): string {
  const { t, session } = ctx;
  const nav = session
    ? html`<nav class="nav" aria-label="${t('nav.menu')}">${NAV.filter((item) => item.id !== 'links' || ctx.links).map(
        (item) => html`<a href="${item.href}"${item.id === page ? html` aria-current="page"` : ''}>${t(item.key)}</a>`,
      )}</nav>
      <div class="who">
        <span class="user" data-role="${session.role}">${tMarkup(t, 'nav.signedInAs', { user: userName(session.user), role: t(`role.${session.role}`) })}</span>
        <form method="post" action="/logout" class="inline">${csrfField(session)}<button type="submit" class="link">${t('nav.logout')}</button></form>
      </div>`
    : '';
  const langSwitch = html`<form method="post" action="/lang" class="lang" aria-label="${t('lang.label')}">
      <input type="hidden" name="back" value="${ctx.path}">
      <button type="submit" name="lang" value="vi" lang="vi" aria-pressed="${ctx.lang === 'vi' ? 'true' : 'false'}" title="${t('lang.vi')}">VI</button>
      <button type="submit" name="lang" value="en" lang="en" aria-pressed="${ctx.lang === 'en' ? 'true' : 'false'}" title="${t('lang.en')}">EN</button>
    </form>`;
  const data = { lang: ctx.lang, csrf: session?.csrfToken ?? null, messages: clientMessages(ctx.lang, CLIENT_KEYS) };
  return html`<!doctype html>
<html lang="${ctx.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · ${t('app.short')}</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body data-page="${page}">
<header class="top">
  <div class="brand"><a href="/">${t('app.short')}</a><span class="hub-name" translate="no">${ctx.hubName}</span></div>
  ${nav}
  ${langSwitch}
</header>
<main>
${ctx.flash ? html`<p class="flash" role="status">${ctx.flash}</p>` : ''}
<h1>${title}</h1>
${body}
</main>
<script type="application/json" id="lt-data">${jsonForScript(data)}</script>
</body>
</html>
`.value;
}

// --- login ------------------------------------------------------------------------------------

export function loginPage(ctx: PageContext, options: { next: string; message?: string; error?: string; name?: string }): string {
  const { t } = ctx;
  return layout(
    ctx,
    'login',
    t('login.title'),
    html`<form method="post" action="/login" class="login card">
  <p class="muted">${t('login.intro')}</p>
  ${options.message ? html`<p class="notice" role="status">${options.message}</p>` : ''}
  ${options.error ? html`<p class="alert" role="alert">${options.error}</p>` : ''}
  <input type="hidden" name="next" value="${options.next}">
  <label>${t('login.name')}<input name="name" autocomplete="username" required maxlength="64" value="${options.name ?? ''}" autofocus></label>
  <label>${t('login.password')}<input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
  <button type="submit" class="primary">${t('login.submit')}</button>
</form>`,
  );
}

// --- overview ---------------------------------------------------------------------------------

function card(label: string, value: number, field: string, lang: Lang, href?: string): Html {
  const inner = html`<span class="value" data-field="${field}">${formatNumber(lang, value)}</span><span class="label">${label}</span>`;
  return href ? html`<a class="stat" href="${href}">${inner}</a>` : html`<div class="stat">${inner}</div>`;
}

function laneCell(t: Translate, lang: Lang, lane: LaneState | null): Html {
  if (!lane) return html`<td class="muted">${t('queues.missing')}</td>`;
  return html`<td class="${lane.messages > 0 ? 'num waiting' : 'num'}">${t('queues.counts', { messages: formatNumber(lang, lane.messages), consumers: formatNumber(lang, lane.consumers) })}</td>`;
}

function staleText(t: Translate, a: AgencyQueues): string {
  if (a.stale === 'no-consumer') return t('stale.noConsumer');
  if (a.stale === 'not-consuming') return t('stale.notConsuming', { since: formatTime(a.staleSince) });
  return a.status === 'active' ? t('queues.ok') : statusLabel(t, a.status);
}

function queueRows(t: Translate, lang: Lang, snapshot: QueueSnapshot): Html {
  // An empty table would read as "no agencies": say why there are no figures.
  if (!snapshot.ok) return html`<tr class="unreachable"><td colspan="4" class="alert-inline">${t('queues.unreachableRow')}</td></tr>`;
  if (snapshot.agencies.length === 0) return html`<tr><td colspan="4" class="muted">${t('queues.none')}</td></tr>`;
  return html`${snapshot.agencies.map(
    (a) => html`<tr class="${a.stale ? 'stale' : ''}">
      <td class="agency"><span class="id organ">${a.organId}</span> <span class="name">${a.name}</span></td>
      ${laneCell(t, lang, a.urgent)}${laneCell(t, lang, a.normal)}
      <td>${a.stale ? html`<span class="badge bad">${staleText(t, a)}</span>` : html`<span class="badge ${a.status === 'active' ? 'ok' : 'warn'}">${staleText(t, a)}</span>`}</td>
    </tr>`,
  )}`;
}

/**
 * The hub's inbound queues. Dead letters are counted once, by the card (the hub's records of
 * those waiting for an operator): the broker's dead-letter queue is emptied by the hub as fast
 * as it fills, and its depth beside the card only contradicted it.
 */
function hubQueuesText(t: Translate, lang: Lang, snapshot: QueueSnapshot): string {
  if (!snapshot.ok) return '';
  const n = (l: LaneState | null): string => (l ? formatNumber(lang, l.messages) : '—');
  return t('queues.hub', { urgent: n(snapshot.hub.inboundUrgent), normal: n(snapshot.hub.inboundNormal) });
}

function staleList(t: Translate, snapshot: QueueSnapshot): Html {
  if (!snapshot.ok) return html`<p class="alert-inline">${t('stale.unknown')}</p>`;
  const stale = snapshot.agencies.filter((a) => a.stale);
  if (stale.length === 0) return html`<p class="muted">${t('stale.none')}</p>`;
  return html`<ul class="stale-list">${stale.map((a) => html`<li><span class="id organ">${a.organId}</span> ${a.name} — <span class="badge bad">${staleText(t, a)}</span></li>`)}</ul>`;
}

/** The links at a glance on the overview (redrawn by the page script from /api/overview). */
export function linksSummaryText(t: Translate, lang: Lang, s: LinksSummary): string {
  const values = { total: formatNumber(lang, s.total), down: formatNumber(lang, s.down) };
  return s.waiting === null ? t('links.summaryUnknown', values) : t('links.summary', { ...values, waiting: formatNumber(lang, s.waiting) });
}

function linksOverview(t: Translate, lang: Lang, s: LinksSummary): Html {
  const attention = s.down > 0 || (s.waiting ?? 0) > 0;
  return html`<section>
  <h2>${t('links.overview')}</h2>
  <p><a href="/links" id="links-summary" class="${attention ? 'alert-inline' : ''}">${linksSummaryText(t, lang, s)}</a></p>
</section>`;
}

export function overviewPage(ctx: PageContext, data: OverviewData): string {
  const { t, lang } = ctx;
  const o = data.overview;
  const q = data.queues;
  return layout(
    ctx,
    'overview',
    t('overview.title'),
    html`<section class="stats">
  ${card(t('overview.routedToday'), o.routedToday, 'routedToday', lang)}
  ${card(t('overview.routedThisWeek'), o.routedThisWeek, 'routedThisWeek', lang)}
  ${card(t('overview.inFlight'), o.inFlight, 'inFlight', lang)}
  ${card(t('overview.bouncedToday'), o.bouncedToday, 'bouncedToday', lang)}
  ${card(t('overview.refusedToday'), o.refusedToday, 'refusedToday', lang)}
  ${card(t('overview.deadLetters'), o.deadLettersPending, 'deadLettersPending', lang, '/dead-letters')}
</section>
<p class="muted small"><span id="updated">${t('overview.updatedAt', { time: formatTime(o.at, true) })}</span> · ${t('overview.live')} <span id="refresh-error" class="alert-inline" hidden>${t('overview.refreshFailed')}</span></p>
<p id="broker-error" class="alert" role="alert"${q.ok ? html` hidden` : ''}>${t('queues.unreachable')}</p>
<section id="health" class="alert" role="alert"${data.health.status === 'ok' ? html` hidden` : ''}>
  <h2>${t('health.title')}</h2>
  <ul id="health-problems">${data.health.problems.map(
    (p) => html`<li><span class="id">${p.component}</span> — ${explained(ctx, p.code, p.message)} <span class="muted small">${t('health.since', { since: formatTime(p.since, true) })}</span></li>`,
  )}</ul>
</section>
${data.links ? linksOverview(t, lang, data.links) : ''}
<section>
  <h2>${t('stale.title', { minutes: q.staleAfterMinutes })}</h2>
  <div id="stale">${staleList(t, q)}</div>
</section>
<section>
  <h2>${t('queues.title')}</h2>
  <p id="hub-queues" class="muted small">${hubQueuesText(t, lang, q)}</p>
  <div class="table-wrap"><table class="queues">
    <thead><tr><th>${t('queues.agency')}</th><th>${t('queues.urgent')}</th><th>${t('queues.normal')}</th><th>${t('queues.state')}</th></tr></thead>
    <tbody id="queue-rows">${queueRows(t, lang, q)}</tbody>
  </table></div>
</section>`,
  );
}

// --- agencies ---------------------------------------------------------------------------------

export function agenciesPage(ctx: PageContext, search: string, rows: readonly AgencyActivity[]): string {
  const { t, lang, session } = ctx;
  const operator = isOperator(session);
  const n = (v: number): string => formatNumber(lang, v);
  const action = (a: AgencyActivity): Html => {
    if (!operator || a.status === 'removed') return html``;
    const suspend = a.status === 'active';
    return html`<form method="post" action="/agencies/${encodeURIComponent(a.organId)}/${suspend ? 'suspend' : 'resume'}" class="inline" data-confirm="${t(suspend ? 'agencies.confirmSuspend' : 'agencies.confirmResume', { organId: a.organId })}">
      ${csrfField(session)}<input type="hidden" name="back" value="${ctx.path}">
      <button type="submit" class="${suspend ? 'danger' : 'secondary'}" data-action="${suspend ? 'suspend' : 'resume'}">${t(suspend ? 'agencies.suspend' : 'agencies.resume')}</button>
    </form>`;
  };
  return layout(
    ctx,
    'agencies',
    t('agencies.title'),
    html`<form method="get" action="/agencies" class="search" role="search">
  <label class="grow">${t('agencies.search')}<input type="search" name="q" value="${search}" maxlength="200"></label>
  <button type="submit">${t('search.submit')}</button>
</form>
${
  rows.length === 0
    ? html`<p class="muted">${t('agencies.none')}</p>`
    : html`<div class="table-wrap"><table class="agencies">
  <thead><tr>
    <th>${t('agencies.organId')}</th><th>${t('agencies.name')}</th><th>${t('agencies.status')}</th>
    <th class="num">${t('agencies.sent')}</th><th class="num">${t('agencies.received')}</th>
    <th class="num">${t('agencies.receiptsOverdue')}</th><th class="num">${t('agencies.notAccepted')}</th><th class="num">${t('agencies.recallsPending')}</th>
    ${operator ? html`<th>${t('agencies.actions')}</th>` : ''}
  </tr></thead>
  <tbody>${rows.map(
    (a) => html`<tr data-organ-id="${a.organId}">
    <td class="id organ">${a.organId}</td><td class="agency-name">${a.name}</td>
    <td><span class="badge ${a.status === 'active' ? 'ok' : 'warn'}">${statusLabel(t, a.status)}</span></td>
    <td class="num">${n(a.sent)}</td><td class="num">${n(a.received)}</td>
    <td class="num${a.receiptsOverdue > 0 ? ' bad' : ''}">${n(a.receiptsOverdue)}</td><td class="num">${n(a.notAccepted)}</td><td class="num">${n(a.recallsPending)}</td>
    ${operator ? html`<td>${action(a)}</td>` : ''}
  </tr>`,
  )}</tbody>
</table></div>`
}`,
  );
}

// --- documents --------------------------------------------------------------------------------

function agencyLabel(id: string, names: Record<string, string>): Html {
  const name = names[id];
  return html`<span class="id organ">${id}</span>${name !== undefined ? html` <span class="name">${name}</span>` : ''}`;
}

function documentLink(id: string): string {
  return `/document?id=${encodeURIComponent(id)}`;
}

export function documentSearchPage(ctx: PageContext, query: string, results: readonly FoundDocument[], names: Record<string, string>): string {
  const { t, lang } = ctx;
  return layout(
    ctx,
    'documents',
    t('documents.title'),
    html`<form method="get" action="/documents" class="search" role="search">
  <label class="grow">${t('documents.search')}<input type="search" name="q" value="${query}" maxlength="300" required></label>
  <button type="submit">${t('search.submit')}</button>
</form>
${
  !query
    ? html`<p class="muted">${t('documents.hint')}</p>`
    : results.length === 0
      ? html`<p class="muted">${t('documents.none')}</p>`
      : html`<p class="muted">${t('documents.results', { count: formatNumber(lang, results.length) })}</p>
<div class="table-wrap"><table class="documents">
  <thead><tr><th>${t('documents.code')}</th><th>${t('documents.subject')}</th><th>${t('documents.sender')}</th><th>${t('documents.sentAt')}</th></tr></thead>
  <tbody>${results.map(
    (d) => html`<tr>
    <td><a href="${documentLink(d.documentId)}">${d.code ?? d.documentId}</a></td>
    <td><a href="${documentLink(d.documentId)}">${d.subject ?? ''}</a></td>
    <td class="agency">${agencyLabel(d.sender, names)}</td>
    <td class="nowrap">${formatTime(d.sentAt)}</td>
  </tr>`,
  )}</tbody>
</table></div>`
}`,
  );
}

function eventLabel(t: Translate, event: string): string {
  const stageKey = `stage.${event}`;
  if (hasMessage(stageKey)) return t(stageKey);
  const eventKey = `event.${event}`;
  if (hasMessage(eventKey)) return t(eventKey);
  return event;
}

function eventClass(event: string): string {
  if (event === 'bounced' || event === '02' || event === '16') return 'bad';
  if (event === '13' || event === '15') return 'warn';
  if (event === '06') return 'ok';
  return '';
}

function recipientCard(ctx: PageContext, delivery: DeliveryRow, events: readonly JourneyEvent[], names: Record<string, string>): Html {
  const { t } = ctx;
  // A bounce's description is the hub's English message: the code says it in the reader's language.
  const note = (e: JourneyEvent): Html | string =>
    e.event === 'bounced' && e.errorCode ? html`<span class="note">${explained(ctx, e.errorCode, e.description)}</span>` : e.description ? html`<span class="note">${e.description}</span>` : '';
  return html`<article class="recipient card" data-recipient="${delivery.recipient}">
  <header>
    <h3>${agencyLabel(delivery.recipient, names)}</h3>
    <p><span class="badge ${eventClass(delivery.stage) || (delivery.stage === 'delivered' || delivery.stage === 'sent' ? '' : 'ok')}" data-stage="${delivery.stage}">${eventLabel(t, delivery.stage)}</span>
    ${delivery.recall !== 'none' ? html`<span class="badge warn" data-recall="${delivery.recall}">${t(`recall.${delivery.recall}`)}</span>` : ''}</p>
  </header>
  <ol class="timeline">${events.map(
    (e) => html`<li class="${eventClass(e.event)}" data-event="${e.event}"><time datetime="${e.at}">${formatTime(e.at, true)}</time> <strong>${eventLabel(t, e.event)}</strong>${note(e)}</li>`,
  )}</ol>
</article>`;
}

export function journeyPage(ctx: PageContext, journey: JourneyData): string {
  const { t } = ctx;
  const priorityKey = `priority.${journey.priority}`;
  return layout(
    ctx,
    'documents',
    journey.code ? `${t('documents.title')} ${journey.code}` : t('documents.title'),
    html`<dl class="facts card">
  <dt>${t('documents.id')}</dt><dd class="id">${journey.documentId}</dd>
  <dt>${t('documents.code')}</dt><dd>${journey.code ?? ''}</dd>
  <dt>${t('documents.subject')}</dt><dd class="subject">${journey.subject ?? ''}</dd>
  <dt>${t('documents.sender')}</dt><dd>${agencyLabel(journey.sender, journey.names)}</dd>
  <dt>${t('documents.sentAt')}</dt><dd>${formatTime(journey.sentAt, true)}</dd>
  <dt>${t('documents.priority')}</dt><dd>${hasMessage(priorityKey) ? t(priorityKey) : journey.priority}</dd>
  ${journey.responseFor ? html`<dt>${t('documents.responseFor')}</dt><dd><a href="${documentLink(journey.responseFor)}">${journey.responseFor}</a></dd>` : ''}
</dl>
<h2>${t('documents.recipients')}</h2>
${
  journey.deliveries.length === 0
    ? html`<p class="muted">${t('documents.noRecipients')}</p>`
    : html`<div class="recipients">${journey.deliveries.map((d) =>
        recipientCard(
          ctx,
          d,
          journey.timeline.filter((e) => e.recipient === d.recipient),
          journey.names,
        ),
      )}</div>`
}`,
  );
}

// --- dead letters -----------------------------------------------------------------------------

function deadLetterLink(id: number): string {
  return `/dead-letters/${id}`;
}

/** Why it died: the cause the hub knows, else RabbitMQ's reason. */
function deadLetterCauseCell(ctx: PageContext, reason: string, cause: DeadLetterCause): Html {
  return cause.code ? html`${explained(ctx, cause.code, cause.message)}<div class="small muted">${deadReason(ctx.t, reason)}</div>` : deadReason(ctx.t, reason);
}

/** An id column: the value, or in words why there is none. */
function idOrWhyNot(t: Translate, value: string | null, link?: string): Html {
  if (value === null) return html`<span class="muted small" data-missing>${t('deadLetters.notInHeaders')}</span>`;
  return link ? html`<a href="${link}">${value}</a>` : html`${value}`;
}

export function deadLettersPage(ctx: PageContext, status: 'pending' | 'all', list: { total: number; items: ExplainedDeadLetter[] }): string {
  const { t, session, lang } = ctx;
  const operator = isOperator(session);
  const actionForm = (d: ExplainedDeadLetter, what: 'replay' | 'discard'): Html =>
    html`<form method="post" action="/dead-letters/${d.id}/${what}" class="inline" data-confirm="${t(what === 'replay' ? 'deadLetters.confirmReplay' : 'deadLetters.confirmDiscard', { id: d.id })}">
      ${csrfField(session)}<input type="hidden" name="back" value="${ctx.path}">
      <button type="submit" class="${what === 'replay' ? 'secondary' : 'danger'}" data-action="${what}">${t(what === 'replay' ? 'deadLetters.replay' : 'deadLetters.discard')}</button>
    </form>`;
  return layout(
    ctx,
    'dead-letters',
    t('deadLetters.title'),
    html`<p class="muted">${t('deadLetters.intro')}</p>
<nav class="tabs">
  <a href="/dead-letters"${status === 'pending' ? html` aria-current="page"` : ''}>${t('deadLetters.pending')}</a>
  <a href="/dead-letters?status=all"${status === 'all' ? html` aria-current="page"` : ''}>${t('deadLetters.all')}</a>
</nav>
<p class="muted small">${t('deadLetters.total', { total: formatNumber(lang, list.total) })}</p>
${
  list.items.length === 0
    ? html`<p class="muted">${t('deadLetters.none')}</p>`
    : html`<div class="table-wrap"><table class="dead-letters">
  <thead><tr>
    <th>${t('deadLetters.id')}</th><th>${t('deadLetters.receivedAt')}</th><th>${t('deadLetters.reason')}</th>
    <th>${t('deadLetters.packetId')}</th><th>${t('deadLetters.documentId')}</th><th>${t('deadLetters.sender')}</th><th>${t('deadLetters.queue')}</th><th>${t('deadLetters.status')}</th>
    ${operator ? html`<th>${t('agencies.actions')}</th>` : ''}
  </tr></thead>
  <tbody>${list.items.map(
    (d) => html`<tr data-dead-letter="${d.id}" data-status="${d.status}">
    <td class="num"><a href="${deadLetterLink(d.id)}" title="${t('deadLetters.detail')}">#${d.id}</a></td>
    <td class="nowrap">${formatTime(d.receivedAt, true)}</td>
    <td class="reason">${deadLetterCauseCell(ctx, d.reason, d.cause)}<br><a class="small" href="${deadLetterLink(d.id)}">${t('deadLetters.detail')}</a></td>
    <td class="id" data-field="packetId">${idOrWhyNot(t, d.packetId)}</td>
    <td class="id" data-field="documentId">${idOrWhyNot(t, d.documentId, d.documentId ? documentLink(d.documentId) : undefined)}</td>
    <td class="id organ">${d.sender ?? html`<span class="muted">${t('deadLetters.unverified')}</span>`}${
      d.claimedFrom !== null && d.claimedFrom !== d.sender ? html`<br><span class="small muted" data-claimed-from>${t('deadLetters.claimed', { from: untrustedLine(d.claimedFrom, 64) })}</span>` : ''
    }</td>
    <td class="id">${d.queue}</td>
    <td><span class="badge ${d.status === 'pending' ? 'warn' : d.status === 'replayed' ? 'ok' : ''}">${t(`deadLetters.status.${d.status}`)}</span>${
      d.resolvedBy ? html`<br><span class="small muted">${tMarkup(t, 'deadLetters.resolved', { user: userName(d.resolvedBy), time: formatTime(d.resolvedAt) })}</span>` : ''
    }</td>
    ${operator ? html`<td class="nowrap">${d.status === 'pending' ? html`${actionForm(d, 'replay')} ${actionForm(d, 'discard')}` : ''}</td>` : ''}
  </tr>`,
  )}</tbody>
</table></div>`
}`,
  );
}

function organWithName(id: string | null, names: Record<string, string>): Html {
  if (id === null) return html``;
  return agencyLabel(id, names);
}

/** One dead letter: what RabbitMQ and the hub know, what its bytes claim, and (operators) the bytes. */
export function deadLetterPage(ctx: PageContext, detail: DeadLetterDetail): string {
  const { t, lang, session } = ctx;
  const d = detail.deadLetter;
  const p = detail.payload;
  const row = (label: string, value: Html | string, field?: string): Html => html`<dt>${label}</dt><dd${field ? html` data-field="${field}"` : ''}>${value}</dd>`;
  const reading = !p
    ? html`<p class="muted" data-payload="pruned">${t('deadLetters.payload.pruned')}</p>`
    : p.readable
      ? html`<dl class="facts card" data-payload="readable">
  ${row(t('deadLetters.payload.kind'), t(p.kind === 'document' ? 'deadLetters.payload.kind.document' : 'deadLetters.payload.kind.status'))}
  ${row(t('deadLetters.payload.from'), p.from ? organWithName(untrustedLine(p.from, 64), detail.names) : html`<span class="muted">${t('deadLetters.unknown')}</span>`, 'payloadFrom')}
  ${row(t('deadLetters.payload.documentId'), p.documentId ? html`<span class="id">${untrustedLine(p.documentId, 200)}</span>` : html`<span class="muted">${t('deadLetters.unknown')}</span>`, 'payloadDocumentId')}
  ${p.code ? row(t('documents.code'), untrustedLine(p.code, 100)) : ''}
  ${p.subject ? row(t('documents.subject'), untrustedLine(p.subject, 500)) : ''}
  ${p.statusCode ? row(t('documents.stage'), untrustedLine(p.statusCode, 10)) : ''}
</dl>`
      : html`<div class="card" data-payload="unreadable"><p>${t('deadLetters.payload.unreadable')}</p><p>${explained(ctx, p.code, p.message)}</p></div>`;
  const bytes = isOperator(session)
    ? html`<p><a class="button secondary" href="${deadLetterLink(d.id)}/payload" id="payload-link">${t('deadLetters.payload.view')}</a>
  <a class="button secondary" href="${deadLetterLink(d.id)}/download" download id="download-link">${t('deadLetters.payload.download')}</a></p>
<p class="muted small">${t('deadLetters.payload.audited')}</p>`
    : html`<p class="muted">${t('deadLetters.payload.operatorsOnly')}</p>`;
  return layout(
    ctx,
    'dead-letters',
    t('deadLetters.detailTitle', { id: d.id }),
    html`<p><a href="/dead-letters">${t('deadLetters.back')}</a></p>
<dl class="facts card" data-dead-letter="${d.id}" data-status="${d.status}">
  ${row(t('deadLetters.cause'), deadLetterCauseCell(ctx, d.reason, d.cause), 'cause')}
  ${row(t('deadLetters.receivedAt'), formatTime(d.receivedAt, true))}
  ${row(t('deadLetters.status'), html`${t(`deadLetters.status.${d.status}`)}${d.resolvedBy ? html` — ${tMarkup(t, 'deadLetters.resolved', { user: userName(d.resolvedBy), time: formatTime(d.resolvedAt) })}` : ''}`)}
  ${row(t('deadLetters.queue'), html`<span class="id">${d.queue}</span>`)}
  ${row(t('deadLetters.packetId'), html`<span class="id">${idOrWhyNot(t, d.packetId)}</span>`, 'packetId')}
  ${row(t('deadLetters.documentId'), html`<span class="id">${idOrWhyNot(t, d.documentId, d.documentId ? documentLink(d.documentId) : undefined)}</span>`, 'documentId')}
  ${row(t('deadLetters.sender'), d.sender ? organWithName(d.sender, detail.names) : html`<span class="muted">${t('deadLetters.unverified')}</span>`, 'sender')}
  ${row(t('deadLetters.publisher'), d.publisher ? html`<span class="id">${d.publisher}</span>` : html`<span class="muted">${t('deadLetters.noPublisher')}</span>`, 'publisher')}
  ${d.claimedFrom !== null ? row(t('deadLetters.claimedFrom'), html`<span class="id">${untrustedLine(d.claimedFrom, 64)}</span>`, 'claimedFrom') : ''}
  ${row(t('deadLetters.size'), t('deadLetters.bytes', { bytes: formatNumber(lang, d.size) }))}
</dl>
<h2>${t('deadLetters.payload.title')}</h2>
${reading}
${p ? bytes : ''}`,
  );
}

/** The bytes of a dead letter as text (escaped, capped; see format.ts payloadText). */
export function deadLetterPayloadPage(ctx: PageContext, detail: DeadLetterDetail, payload: { text: string; shown: number; size: number }): string {
  const { t, lang } = ctx;
  const id = detail.deadLetter.id;
  return layout(
    ctx,
    'dead-letters',
    t('deadLetters.payload.pageTitle', { id }),
    html`<p><a href="${deadLetterLink(id)}">${t('deadLetters.detailTitle', { id })}</a> · <a href="${deadLetterLink(id)}/download" download>${t('deadLetters.payload.download')}</a></p>
<p class="muted small">${t('deadLetters.payload.shown', { shown: formatNumber(lang, payload.shown), size: formatNumber(lang, payload.size) })}</p>
<pre class="payload" lang="" translate="no">${payload.text}</pre>`,
  );
}

// --- links ------------------------------------------------------------------------------------

function linkState(t: Translate, link: LinkView): Html {
  if (!link.configured) return html`<span class="badge">${t('links.removed')}</span>`;
  if (link.connected === null) return html`<span class="badge warn">${t('links.notRunning')}</span>`;
  return link.connected ? html`<span class="badge ok">${t('links.connected')}</span>` : html`<span class="badge bad">${t('links.down')}</span>`;
}

function linkBacklog(t: Translate, lang: Lang, link: LinkView, brokerOk: boolean): Html {
  if (!link.configured) return html`<td class="muted">${t('common.none')}</td>`;
  if (!brokerOk || !link.backlog) return html`<td class="alert-inline" data-field="backlog">${t('links.backlogUnknown')}</td>`;
  const n = (lane: LaneState | null): string => (lane ? formatNumber(lang, lane.messages) : '—');
  return html`<td class="${link.waiting ? 'num waiting' : 'num'}" data-field="backlog"><span data-field="waiting">${formatNumber(lang, link.waiting ?? 0)}</span><br><span class="small">${t('links.backlogLanes', {
    urgent: n(link.backlog.urgent),
    normal: n(link.backlog.normal),
  })}</span></td>`;
}

function linkActivity(ctx: PageContext, link: LinkView): Html {
  const { t, lang } = ctx;
  const p = link.process;
  const success = p?.lastSuccessAt ? t('links.lastSuccess', { time: formatTime(p.lastSuccessAt, true) }) : t('links.noSuccess');
  return html`<td class="small" data-field="activity">
    <div data-field="lastSuccess">${success}</div>
    ${p?.lastFailureAt ? html`<div class="alert-inline" data-field="lastFailure">${t('links.lastFailure', { time: formatTime(p.lastFailureAt, true) })}${
      p.lastError ? html`<details class="detail"><summary>${t('cause.original')}</summary><span lang="en">${untrustedLine(p.lastError, 500)}</span></details>` : ''
    }</div>` : ''}
    ${p ? html`<div class="muted">${t('links.sinceStart', { forwarded: formatNumber(lang, p.forwarded), failures: formatNumber(lang, p.failures) })}</div>` : ''}
    ${link.traffic.lastSentAt ? html`<div class="muted">${t('links.lastSent', { time: formatTime(link.traffic.lastSentAt, true) })}</div>` : ''}
    ${link.traffic.lastReceivedAt ? html`<div class="muted">${t('links.lastReceived', { time: formatTime(link.traffic.lastReceivedAt, true) })}</div>` : ''}
  </td>`;
}

export function linksPage(ctx: PageContext, data: LinksData): string {
  const { t, lang } = ctx;
  const n = (v: number): string => formatNumber(lang, v);
  return layout(
    ctx,
    'links',
    t('links.title'),
    html`<p class="muted">${t('links.intro')}</p>
<p id="broker-error" class="alert" role="alert"${data.queues.ok ? html` hidden` : ''}>${t('queues.unreachable')}</p>
${
  data.links.length === 0
    ? html`<p class="muted">${t('links.none')}</p>`
    : html`<div class="table-wrap"><table class="links">
  <thead><tr>
    <th>${t('links.link')}</th><th>${t('links.state')}</th><th class="num">${t('links.backlog')}</th>
    <th>${t('links.sent')}</th><th>${t('links.received')}</th><th>${t('links.failed')}</th><th>${t('links.activity')}</th>
  </tr></thead>
  <tbody>${data.links.map((link) => {
    const tr = link.traffic;
    return html`<tr data-link="${link.name}" data-state="${!link.configured ? 'removed' : link.connected === null ? 'not-running' : link.connected ? 'connected' : 'down'}" class="${link.attention ?? ''}">
    <td class="link"><strong class="id">${link.name}</strong>${link.kind === 'amqp' ? html`<br><span class="small">${t('links.kind.amqp')}</span>` : ''}${
      link.patterns.length > 0
        ? html`<br><span class="small muted">${tMarkup(t, 'links.patterns', { patterns: html`<span class="id organ" data-field="patterns">${link.patterns.join(', ')}</span>` })}</span>`
        : ''
    }</td>
    <td data-field="state">${linkState(t, link)}</td>
    ${linkBacklog(t, lang, link, data.queues.ok)}
    <td data-field="sent">${t('links.sentDetail', { documents: n(tr.documentsSent), recipients: n(tr.recipientsSent), statuses: n(tr.statusesSent) })}</td>
    <td data-field="received">${t('links.receivedDetail', { documents: n(tr.documentsReceived), statuses: n(tr.statusesReceived) })}</td>
    <td data-field="failed" class="${tr.bounced + tr.refused + tr.deadLettered > 0 ? 'bad' : ''}">${t('links.failedDetail', { bounced: n(tr.bounced), refused: n(tr.refused), dead: n(tr.deadLettered) })}</td>
    ${linkActivity(ctx, link)}
  </tr>`;
  })}</tbody>
</table></div>
<p class="muted small">${t('links.totals')}</p>`
}
${data.noRoute > 0 ? html`<p class="muted" data-field="noRoute">${t('links.noRoute', { count: n(data.noRoute) })}</p>` : ''}`,
  );
}

/** The per-link traffic of a report period (the Reports page shows it when the hub has links or had traffic through one). */
function linkReportTable(ctx: PageContext, report: ReportData): Html {
  const { t, lang } = ctx;
  if (report.links.length === 0 && report.noRoute === 0) return html``;
  const n = (v: number): string => formatNumber(lang, v);
  const csv = `/reports/links.csv?from=${encodeURIComponent(report.from)}&to=${encodeURIComponent(report.to)}`;
  const columns: Array<[Exclude<(typeof LINK_CSV_COLUMNS)[number], 'link'>, MessageKey]> = [
    ['documentsSent', 'links.documentsSent'],
    ['recipientsSent', 'links.recipientsSent'],
    ['statusesSent', 'links.statusesSent'],
    ['documentsReceived', 'links.documentsReceived'],
    ['statusesReceived', 'links.statusesReceived'],
    ['bounced', 'links.bounced'],
    ['refused', 'links.refused'],
    ['deadLettered', 'links.deadLettered'],
  ];
  return html`<h2>${t('reports.links')}</h2>
<p><a class="button secondary" href="${csv}" download id="links-csv-link">${t('reports.linksCsv')}</a></p>
${
  report.links.length > 0
    ? html`<div class="table-wrap"><table class="report links-report">
  <thead><tr><th>${t('links.link')}</th>${columns.map(([, key]) => html`<th class="num">${t(key)}</th>`)}</tr></thead>
  <tbody>${report.links.map(
    (r: LinkTraffic) => html`<tr data-link="${r.link}"><td class="id">${r.link}</td>${columns.map(
      ([field]) => html`<td class="num${(field === 'bounced' || field === 'refused' || field === 'deadLettered') && r[field] > 0 ? ' bad' : ''}" data-field="${field}">${n(r[field])}</td>`,
    )}</tr>`,
  )}</tbody>
</table></div>`
    : ''
}
${report.noRoute > 0 ? html`<p class="muted" data-field="noRoute">${t('links.noRoute', { count: n(report.noRoute) })}</p>` : ''}`;
}

// --- reports ----------------------------------------------------------------------------------

/** A horizontal bar chart of documents sent and received per agency (inline SVG, no script). */
export function usageChart(t: Translate, lang: Lang, rows: readonly UsageRow[]): Html {
  const shown = rows.filter((r) => r.sent > 0 || r.received > 0);
  const width = 720;
  const labelHeight = 16;
  const bar = 12;
  const groupHeight = labelHeight + 2 * bar + 14;
  const top = 28;
  const height = top + Math.max(1, shown.length) * groupHeight;
  const left = 8;
  const valueRoom = 48;
  const max = Math.max(1, ...shown.flatMap((r) => [r.sent, r.received]));
  const scale = (v: number): number => (v === 0 ? 0 : Math.max(2, Math.round(((width - left - valueRoom) * v) / max)));
  const trim = (s: string): string => (s.length > 70 ? `${s.slice(0, 69)}…` : s);
  return html`<figure class="chart">
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title" preserveAspectRatio="xMinYMin meet">
  <title id="chart-title">${t('reports.chart')}</title>
  <rect x="${left}" y="4" width="12" height="12" class="bar-sent"></rect><text x="${left + 18}" y="14" class="legend">${t('reports.legendSent')}</text>
  <rect x="${left + 120}" y="4" width="12" height="12" class="bar-received"></rect><text x="${left + 138}" y="14" class="legend">${t('reports.legendReceived')}</text>
  ${shown.map((r, i) => {
    const y = top + i * groupHeight;
    const sent = scale(r.sent);
    const received = scale(r.received);
    return html`<g class="group" data-organ-id="${r.organId}">
    <text x="${left}" y="${y + 12}" class="label">${trim(`${r.organId} ${r.name}`)}</text>
    <rect x="${left}" y="${y + labelHeight}" width="${sent}" height="${bar}" class="bar-sent"><title>${t('reports.sent')}: ${r.sent}</title></rect>
    <text x="${left + sent + 4}" y="${y + labelHeight + 10}" class="value">${formatNumber(lang, r.sent)}</text>
    <rect x="${left}" y="${y + labelHeight + bar + 2}" width="${received}" height="${bar}" class="bar-received"><title>${t('reports.received')}: ${r.received}</title></rect>
    <text x="${left + received + 4}" y="${y + labelHeight + bar + 12}" class="value">${formatNumber(lang, r.received)}</text>
  </g>`;
  })}
</svg>
<figcaption>${t('reports.chart')}</figcaption>
</figure>`;
}

export function reportPage(ctx: PageContext, form: { from: string; to: string }, report: ReportData | undefined, error?: string): string {
  const { t, lang } = ctx;
  const n = (v: number): string => formatNumber(lang, v);
  const csv = report ? `/reports/usage.csv?from=${encodeURIComponent(report.from)}&to=${encodeURIComponent(report.to)}` : '';
  return layout(
    ctx,
    'reports',
    t('reports.title'),
    html`<form method="get" action="/reports" class="search period">
  <label>${t('reports.from')}<input type="date" name="from" value="${form.from}" required></label>
  <label>${t('reports.to')}<input type="date" name="to" value="${form.to}" required></label>
  <button type="submit">${t('reports.show')}</button>
  ${report ? html`<a class="button secondary" href="${csv}" download id="csv-link">${t('reports.csv')}</a>` : ''}
</form>
${error ? html`<p class="alert" role="alert">${error}</p>` : ''}
${
  report
    ? html`<p class="muted">${t('reports.period', { from: formatDay(report.from), to: formatDay(report.to) })}</p>
<div class="table-wrap"><table class="report">
  <thead><tr>
    <th>${t('agencies.organId')}</th><th>${t('agencies.name')}</th>
    <th class="num">${t('reports.sent')}</th><th class="num">${t('reports.received')}</th>
    <th class="num">${t('reports.onTimeRate')}</th><th class="num">${t('reports.averageHours')}</th><th class="num">${t('reports.overdue')}</th>
  </tr></thead>
  <tbody>${report.rows.map(
    (r) => html`<tr data-organ-id="${r.organId}">
    <td class="id organ">${r.organId}</td><td class="agency-name">${r.name}</td>
    <td class="num" data-field="sent">${n(r.sent)}</td><td class="num" data-field="received">${n(r.received)}</td>
    <td class="num" data-field="onTimeRate">${formatRate(lang, r.onTimeRate)}${r.receiptsDue > 0 ? html` <span class="muted small">(${r.receiptsOnTime}/${r.receiptsDue})</span>` : ''}</td>
    <td class="num" data-field="averageHoursToAccept">${formatHours(lang, r.averageHoursToAccept)}</td>
    <td class="num${r.overdue > 0 ? ' bad' : ''}" data-field="overdue">${n(r.overdue)}</td>
  </tr>`,
  )}</tbody>
</table></div>
${usageChart(t, lang, report.rows)}
${linkReportTable(ctx, report)}`
    : ''
}`,
  );
}

// --- errors -----------------------------------------------------------------------------------

export function errorPage(ctx: PageContext, status: number, message: string, back: string, detail?: { code: string; message: string }): string {
  const { t } = ctx;
  return layout(
    ctx,
    'error',
    t('error.title'),
    html`<p class="alert" role="alert" data-status="${status}">${message}</p>
${detail ? html`<details class="detail"><summary>${t('error.detail')}</summary><p><span lang="en">${untrustedLine(detail.message, 2000)}</span> <span class="id muted">(${detail.code})</span></p></details>` : ''}
<p><a href="${back}">${t('error.back')}</a></p>`,
  );
}

/** The usage CSV's column names in the reader's language. */
export function usageCsvHeader(t: Translate): Record<(typeof USAGE_CSV_COLUMNS)[number], string> {
  return {
    organId: t('agencies.organId'),
    name: t('agencies.name'),
    sent: t('reports.sent'),
    received: t('reports.received'),
    receiptsOnTime: t('reports.receiptsOnTime'),
    onTimeRate: t('reports.onTimeRate'),
    averageHoursToAccept: t('reports.averageHours'),
    overdue: t('reports.overdue'),
  };
}

/** The links CSV's column names in the reader's language. */
export function linkCsvHeader(t: Translate): Record<(typeof LINK_CSV_COLUMNS)[number], string> {
  return {
    link: t('links.link'),
    documentsSent: t('links.documentsSent'),
    recipientsSent: t('links.recipientsSent'),
    statusesSent: t('links.statusesSent'),
    documentsReceived: t('links.documentsReceived'),
    statusesReceived: t('links.statusesReceived'),
    bounced: t('links.bounced'),
    refused: t('links.refused'),
    deadLettered: t('links.deadLettered'),
  };
}
