/**
 * The dashboard's one stylesheet and one script, served from memory with the strict
 * Content-Security-Policy of server.ts (no inline script or style anywhere). The script only
 * asks before destructive actions and redraws the overview (links included) from /api/overview every 5 s; every
 * page works without it. It writes text with textContent, never as HTML.
 */

export const DASHBOARD_CSS = `
:root {
  --fg: #1d2733; --muted: #5b6b7b; --bg: #f4f6f9; --card: #fff; --line: #d9e0e7;
  --primary: #0b5cad; --primary-dark: #084a8c; --danger: #b42318; --ok: #1a7f37; --warn: #9a6700;
  --ok-bg: #e6f4ea; --warn-bg: #fff4d6; --bad-bg: #fde8e6;
  --sent: #0b5cad; --received: #2aa198;
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; font-family: "Noto Sans", "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); line-height: 1.45; }
a { color: var(--primary); }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .6rem; }
h3 { font-size: 1rem; margin: 0; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.25rem; padding: .6rem 1rem; background: #0f2a47; color: #fff; }
.top a { color: #fff; }
.brand { display: flex; flex-direction: column; min-width: 0; }
.brand a { font-weight: 700; text-decoration: none; font-size: 1.05rem; }
.hub-name { font-size: .78rem; opacity: .8; }
.nav { display: flex; flex-wrap: wrap; gap: .25rem; flex: 1 1 auto; }
.nav a { padding: .35rem .65rem; border-radius: 6px; text-decoration: none; }
.nav a:hover { background: rgba(255,255,255,.12); }
.nav a[aria-current="page"] { background: rgba(255,255,255,.2); font-weight: 600; }
.who { display: flex; align-items: center; gap: .5rem; font-size: .9rem; }
.who .link { color: #fff; }
.lang { display: flex; gap: 2px; }
.lang button { background: transparent; color: #fff; border: 1px solid rgba(255,255,255,.5); padding: .2rem .45rem; font-size: .8rem; border-radius: 4px; cursor: pointer; }
.lang button[aria-pressed="true"] { background: #fff; color: #0f2a47; font-weight: 700; }
main { max-width: 1200px; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: .75rem; }
.stat { display: flex; flex-direction: column; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .85rem 1rem; text-decoration: none; color: inherit; }
a.stat:hover { border-color: var(--primary); }
.stat .value { font-size: 2rem; font-weight: 700; line-height: 1.1; }
.stat .label { color: var(--muted); font-size: .9rem; }
.muted { color: var(--muted); }
.small { font-size: .85rem; }
.nowrap { white-space: nowrap; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; word-break: break-all; }
.organ { white-space: nowrap; word-break: normal; }
td.agency, td.agency-name { min-width: 12rem; }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .5rem .65rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.bad { color: var(--danger); font-weight: 700; }
td.waiting { color: var(--warn); font-weight: 600; }
tr.stale { background: var(--bad-bg); }
tr.down { background: var(--bad-bg); }
tr.backlog { background: var(--warn-bg); }
table.links td { min-width: 9rem; }
td.link { min-width: 11rem; }
.badge { display: inline-block; padding: .1rem .5rem; border-radius: 999px; font-size: .8rem; background: #eef2f6; white-space: nowrap; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.bad { background: var(--bad-bg); color: var(--danger); }
.alert { background: var(--bad-bg); color: var(--danger); border: 1px solid #f3b8b1; border-radius: 8px; padding: .6rem .85rem; }
.alert-inline { color: var(--danger); }
.notice, .flash { background: var(--ok-bg); color: var(--ok); border: 1px solid #a8d5b5; border-radius: 8px; padding: .6rem .85rem; }
[hidden] { display: none !important; }
form.inline { display: inline; margin: 0; }
form.search { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .6rem; margin-bottom: 1rem; }
form.search label { display: flex; flex-direction: column; font-size: .9rem; gap: .2rem; }
form.search .grow { flex: 1 1 260px; }
input { font: inherit; padding: .45rem .55rem; border: 1px solid #b8c3ce; border-radius: 6px; background: #fff; min-width: 0; }
button, .button { font: inherit; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--primary); background: var(--primary); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button:hover, .button:hover { background: var(--primary-dark); }
button.secondary, .button.secondary { background: #fff; color: var(--primary); }
button.secondary:hover, .button.secondary:hover { background: #eef4fb; }
button.danger { background: #fff; color: var(--danger); border-color: var(--danger); }
button.danger:hover { background: var(--bad-bg); }
button.link { background: none; border: 0; padding: 0; text-decoration: underline; cursor: pointer; }
td form.inline button { padding: .25rem .6rem; font-size: .85rem; }
.login { max-width: 380px; display: flex; flex-direction: column; gap: .8rem; }
.login label { display: flex; flex-direction: column; gap: .25rem; }
.tabs { display: flex; gap: .5rem; margin-bottom: .5rem; }
.tabs a { padding: .3rem .75rem; border-radius: 6px; border: 1px solid var(--line); text-decoration: none; background: #fff; }
.tabs a[aria-current="page"] { background: var(--primary); color: #fff; border-color: var(--primary); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.recipients { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: .75rem; }
.recipient header { display: flex; flex-direction: column; gap: .35rem; margin-bottom: .5rem; }
.recipient header p { margin: 0; display: flex; gap: .35rem; flex-wrap: wrap; }
.timeline { list-style: none; margin: 0; padding: 0 0 0 .9rem; border-left: 2px solid var(--line); }
.timeline li { position: relative; padding: .2rem 0 .45rem .5rem; }
.timeline li::before { content: ""; position: absolute; left: -1.27rem; top: .55rem; width: .6rem; height: .6rem; border-radius: 50%; background: var(--primary); }
.timeline li.bad::before { background: var(--danger); }
.timeline li.warn::before { background: var(--warn); }
.timeline li.ok::before { background: var(--ok); }
.timeline time { color: var(--muted); font-size: .85rem; display: block; }
.timeline .note { display: block; font-size: .85rem; color: var(--muted); }
.stale-list { margin: 0; padding-left: 1.2rem; }
details.detail { font-size: .85rem; color: var(--muted); margin-top: .2rem; }
details.detail summary { cursor: pointer; }
details.detail [lang="en"] { overflow-wrap: anywhere; }
td.reason { min-width: 14rem; }
pre.payload { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem; margin: 0; max-height: 70vh; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; }
.chart { margin: 1.25rem 0 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem; }
.chart svg { width: 100%; max-width: 760px; height: auto; display: block; }
.chart figcaption { color: var(--muted); font-size: .85rem; margin-top: .4rem; }
.chart .bar-sent { fill: var(--sent); }
.chart .bar-received { fill: var(--received); }
.chart text { font-size: 12px; fill: var(--fg); }
.chart text.value { fill: var(--muted); }
@media (max-width: 700px) {
  html { font-size: 14px; }
  .top { padding: .5rem .75rem; }
  /* Every menu item on screen: the menu wraps onto a second line rather than scrolling out of sight. */
  .nav { order: 3; flex-basis: 100%; flex-wrap: wrap; }
  .nav a { white-space: nowrap; }
  td.reason { min-width: 11rem; }
  main { padding: 1rem .6rem 2rem; }
  .stat .value { font-size: 1.6rem; }
  .stats { grid-template-columns: repeat(2, 1fr); }
  .facts { grid-template-columns: 1fr; }
  .facts dt { margin-top: .4rem; }
  .recipients { grid-template-columns: 1fr; }
  td.agency .name { display: block; }
  .chart { overflow-x: auto; }
  .chart svg { min-width: 600px; }
  td.agency, td.agency-name { min-width: 10rem; }
}
`;

export const DASHBOARD_JS = `
(function () {
  'use strict';
  var dataEl = document.getElementById('lt-data');
  var data = dataEl ? JSON.parse(dataEl.textContent || '{}') : {};
  var M = data.messages || {};
  function fmt(key, values) {
    var text = M[key] || key;
    return text.replace(/\\{(\\w+)\\}/g, function (whole, name) { return values && name in values ? String(values[name]) : whole; });
  }

  // Ask before actions that change the exchange (suspend, replay, discard).
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form && form.getAttribute && form.getAttribute('data-confirm') && !window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
  });

  if (!document.body || document.body.getAttribute('data-page') !== 'overview') return;

  var numbers = new Intl.NumberFormat(data.lang === 'vi' ? 'vi-VN' : 'en-GB');
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function time(iso, seconds) {
    if (!iso) return '';
    var d = new Date(Date.parse(iso) + 7 * 3600000);
    return pad(d.getUTCDate()) + '/' + pad(d.getUTCMonth() + 1) + '/' + d.getUTCFullYear() + ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + (seconds ? ':' + pad(d.getUTCSeconds()) : '');
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function staleText(a) {
    if (a.stale === 'no-consumer') return fmt('stale.noConsumer');
    if (a.stale === 'not-consuming') return fmt('stale.notConsuming', { since: time(a.staleSince) });
    return a.status === 'active' ? fmt('queues.ok') : fmt('status.' + a.status);
  }
  function laneCell(lane) {
    if (!lane) return el('td', 'muted', fmt('queues.missing'));
    return el('td', lane.messages > 0 ? 'num waiting' : 'num', fmt('queues.counts', { messages: numbers.format(lane.messages), consumers: numbers.format(lane.consumers) }));
  }
  function render(body) {
    var o = body.overview, q = body.queues;
    var fields = document.querySelectorAll('.stats [data-field]');
    for (var i = 0; i < fields.length; i++) {
      var name = fields[i].getAttribute('data-field');
      if (typeof o[name] === 'number') fields[i].textContent = numbers.format(o[name]);
    }
    document.getElementById('updated').textContent = fmt('overview.updatedAt', { time: time(o.at, true) });
    document.getElementById('broker-error').hidden = q.ok;
    var health = body.health || { status: 'ok', problems: [] };
    var healthList = document.getElementById('health-problems');
    document.getElementById('health').hidden = health.status === 'ok';
    healthList.textContent = '';
    health.problems.forEach(function (p) {
      var li = el('li');
      li.appendChild(el('span', 'id', p.component));
      li.appendChild(document.createTextNode(' — ' + p.code + ': ' + p.message + ' '));
      li.appendChild(el('span', 'muted small', fmt('health.since', { since: time(p.since, true) })));
      healthList.appendChild(li);
    });
    var linksLine = document.getElementById('links-summary');
    if (linksLine && body.links) {
      var s = body.links, values = { total: numbers.format(s.total), down: numbers.format(s.down) };
      if (s.waiting !== null) values.waiting = numbers.format(s.waiting);
      linksLine.textContent = fmt(s.waiting === null ? 'links.summaryUnknown' : 'links.summary', values);
      linksLine.className = s.down > 0 || s.waiting > 0 ? 'alert-inline' : '';
    }
    var hubLine = document.getElementById('hub-queues');
    var rows = document.getElementById('queue-rows');
    var stale = document.getElementById('stale');
    rows.textContent = '';
    stale.textContent = '';
    if (!q.ok) {
      // Empty tables would read as "no agencies": say why there are no figures (as the server does).
      hubLine.textContent = '';
      var why = el('tr', 'unreachable'); var whyCell = el('td', 'alert-inline', fmt('queues.unreachableRow')); whyCell.colSpan = 4; why.appendChild(whyCell); rows.appendChild(why);
      stale.appendChild(el('p', 'alert-inline', fmt('stale.unknown')));
      return;
    }
    function n(l) { return l ? numbers.format(l.messages) : '—'; }
    hubLine.textContent = fmt('queues.hub', { urgent: n(q.hub.inboundUrgent), normal: n(q.hub.inboundNormal) });
    if (q.agencies.length === 0) {
      var empty = el('tr'); var cell = el('td', 'muted', fmt('queues.none')); cell.colSpan = 4; empty.appendChild(cell); rows.appendChild(empty);
    }
    var staleOnes = [];
    q.agencies.forEach(function (a) {
      var tr = el('tr', a.stale ? 'stale' : '');
      var who = el('td', 'agency');
      who.appendChild(el('span', 'id organ', a.organId));
      who.appendChild(document.createTextNode(' '));
      who.appendChild(el('span', 'name', a.name));
      tr.appendChild(who);
      tr.appendChild(laneCell(a.urgent));
      tr.appendChild(laneCell(a.normal));
      var state = el('td');
      state.appendChild(el('span', 'badge ' + (a.stale ? 'bad' : a.status === 'active' ? 'ok' : 'warn'), staleText(a)));
      tr.appendChild(state);
      rows.appendChild(tr);
      if (a.stale) staleOnes.push(a);
    });
    if (staleOnes.length === 0) { stale.appendChild(el('p', 'muted', fmt('stale.none'))); return; }
    var list = el('ul', 'stale-list');
    staleOnes.forEach(function (a) {
      var li = el('li');
      li.appendChild(el('span', 'id organ', a.organId));
      li.appendChild(document.createTextNode(' ' + a.name + ' — '));
      li.appendChild(el('span', 'badge bad', staleText(a)));
      list.appendChild(li);
    });
    stale.appendChild(list);
  }
  var failed = document.getElementById('refresh-error');
  function refresh() {
    if (document.hidden) { setTimeout(refresh, 5000); return; }
    fetch('/api/overview', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) {
        if (response.status === 401) { window.location.href = '/login?expired=1&next=%2F'; throw new Error('logged out'); }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (body) { render(body); failed.hidden = true; })
      .catch(function () { failed.hidden = false; })
      .then(function () { setTimeout(refresh, 5000); });
  }
  setTimeout(refresh, 5000);
})();
`;
