/**
 * The hub operators' dashboard (design.md, "Observability", "Security"): a fastify instance in
 * the hub's process, over the hub's database, its dead letters and RabbitMQ's management API.
 *
 *   /login, /logout, /lang        sign in and out (sessions.ts), language switch (cookie)
 *   /                             overview: traffic today and this week, queues, silent edges
 *   /agencies                     directory with activity; suspend / resume (operators)
 *   /documents, /document?id=     find a document; its recipients' timelines
 *   /dead-letters                 list; replay / discard (operators)
 *   /links                        links to other hubs: state, backlog, traffic (when configured)
 *   /reports, /reports/usage.csv  usage per agency over a period: table, chart, CSV
 *   /reports/links.csv            traffic per link to another hub over a period, CSV
 *   /api/...                      the same as JSON (same login, same CSRF rule)
 *   /metrics                      Prometheus text of hub.metrics (public, or a bearer token)
 *
 * Every page and API route needs a session except /login, /lang, /assets and /metrics.
 * Requests that change something need the session's CSRF token (form field `_csrf` or header
 * `X-CSRF-Token`) on top of the SameSite=Strict cookie, and operator routes refuse viewers
 * with 403 FORBIDDEN. Errors follow the edge REST API: `{ "error": { "code", "message" } }`
 * with the catalogue's status under /api/, an HTML page elsewhere.
 */
import type { HealthSnapshot } from '../health.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errorAnswer } from '../adapters/rest/errors.js';
import type { ResourceNames } from '../broker/names.js';
import { workingCalendar, type CalendarConfig } from '../envelope/calendar.js';
import { loadHttpsFiles } from '../https.js';
import { LtError } from '../errors.js';
import type { DashboardConfig } from '../hub/config.js';
import type { Hub } from '../hub/hub.js';
import { ManagementClient } from '../broker/management.js';
import { setAgencyStatus } from '../hub/provisioning.js';
import { appendAudit } from '../store/audit.js';
import { authenticate } from '../hub/users.js';
import { componentLogger, silentLogger, type Logger } from '../log.js';
import { linkCsv, usageCsv } from '../hub/reports.js';
import type { Db } from '../store/db.js';
import { DASHBOARD_CSS, DASHBOARD_JS } from './assets.js';
import {
  agenciesData,
  agencyNames,
  deadLetterDetail,
  explainDeadLetters,
  findData,
  journeyData,
  linksData,
  overviewData,
  reportData,
  type DashboardFederation,
  type DataContext,
  type DeadLetterStore,
} from './data.js';
import { localDay, payloadText, reportPeriod } from './format.js';
import { DEFAULT_LANG, explainCode, isLang, translator, type Lang, type MessageKey, type Translate } from './i18n.js';
import { QueueMonitor, type QueueSource } from './queues.js';
import {
  DEFAULT_LOGIN_LIMITS,
  LANG_COOKIE,
  LoginLimiter,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  Sessions,
  parseCookies,
  sameToken,
  serializeCookie,
  type LoginLimits,
  type Session,
} from './sessions.js';
import {
  agenciesPage,
  deadLetterPage,
  deadLetterPayloadPage,
  deadLettersPage,
  documentSearchPage,
  errorPage,
  journeyPage,
  linkCsvHeader,
  linksPage,
  loginPage,
  overviewPage,
  reportPage,
  usageCsvHeader,
  type PageContext,
} from './views.js';

/** Who may use a route: anyone, any logged-in user, or operators only. */
export type Access = 'public' | 'viewer' | 'operator';

declare module 'fastify' {
  interface FastifyRequest {
    dashboardSession?: Session;
    dashboardLang?: Lang;
    /** A session cookie came with the request but opens no session (expired, logged out elsewhere, user removed). */
    dashboardSessionEnded?: boolean;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface DashboardDeps {
  db: Db;
  names: ResourceNames;
  hub: { organId: string; organName: string; calendar: CalendarConfig; urgentReceiptMinutes: number };
  /** host, port, staleAfterMinutes, secureCookies, metricsToken (hub.json `dashboard`). */
  settings: DashboardConfig;
  /** RabbitMQ's management API (queue depths and consumers). */
  queues: QueueSource;
  /** The hub's dead letters (a function: they exist once the hub has started). */
  deadLetters: () => DeadLetterStore;
  metrics?: { text(): Promise<string>; contentType: string };
  /** The hub's health board: its problems head the overview. */
  health?: () => HealthSnapshot;
  clock?: () => Date;
  log?: Logger;
  loginLimits?: Partial<LoginLimits>;
  /** How long a queue snapshot is reused. Default 5 s. */
  queueCacheMs?: number;
  /** The hub's links to other hubs (hub.json "federation"): the Links page and the overview's line. */
  federation?: DashboardFederation;
}

const ACTOR = (session: Session): string => `operator:${session.user}`;
// Printable ASCII only (a Location header takes nothing else; browsers send URLs percent-encoded).
const LOCAL_PATH = /^\/(?![/\\])[\x21-\x7e]*$/;

/** A path of this site to go back to (never another site: "//evil", "/\\evil" and URLs are refused). */
export function localPath(value: unknown, fallback = '/'): string {
  return typeof value === 'string' && value.length <= 2000 && LOCAL_PATH.test(value) ? value : fallback;
}

function field(body: unknown, name: string): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function query(request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** Whether to answer an error as JSON: the API, /metrics, and JSON requests (a JSON login). */
const isApi = (request: FastifyRequest): boolean =>
  request.url.startsWith('/api/') || request.url === '/api' || request.url.startsWith('/metrics') || (request.headers['content-type'] ?? '').startsWith('application/json');
const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  // Pages and API answers are per user and change all the time; the assets override this.
  'cache-control': 'no-store',
};

/** An error whose text for the page is already in the page's language (the API keeps the English message). */
function shownAs<E extends LtError>(error: E, text: string): E & { shown: string } {
  return Object.assign(error, { shown: text });
}

const DONE: Record<string, MessageKey> = { suspended: 'done.suspended', resumed: 'done.resumed', replayed: 'done.replayed', discarded: 'done.discarded' };

export function createDashboard(deps: DashboardDeps): FastifyInstance {
  const clock = deps.clock ?? (() => new Date());
  const log = deps.log ?? silentLogger();
  const sessions = new Sessions(deps.db, clock, SESSION_TTL_MS);
  const limiter = new LoginLimiter({ ...DEFAULT_LOGIN_LIMITS, ...deps.loginLimits }, clock);
  const monitor = new QueueMonitor({
    source: deps.queues,
    names: deps.names,
    db: deps.db,
    staleAfterMinutes: deps.settings.staleAfterMinutes,
    clock,
    ...(deps.queueCacheMs !== undefined ? { cacheMs: deps.queueCacheMs } : {}),
    ...(deps.federation ? { links: deps.federation.links.map((link) => link.name) } : {}),
  });
  const data: DataContext = {
    db: deps.db,
    names: deps.names,
    calendar: workingCalendar(deps.hub.calendar),
    urgentReceiptMinutes: deps.hub.urgentReceiptMinutes,
    monitor,
    clock,
    ...(deps.health ? { health: deps.health } : {}),
    ...(deps.federation ? { federation: deps.federation } : {}),
  };
  const hasLinks = (deps.federation?.links.length ?? 0) > 0;
  // Over HTTPS the session cookie is Secure whatever secureCookies says: a browser then never sends it in clear.
  const secure = deps.settings.secureCookies || deps.settings.tls !== undefined;
  const https = deps.settings.tls ? loadHttpsFiles(deps.settings.tls, 'dashboard.tls') : undefined;

  // The https server's instance type differs from the http one's only in the server it wraps.
  const app = Fastify({
    ...(https ? { https } : {}),
    loggerInstance: componentLogger(log, 'dashboard') as unknown as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    // The login limits count per client address: a forwarded address is believed only from the
    // proxies the operator named (dashboard.trustProxy), else anyone could pick a fresh one per try.
    trustProxy: deps.settings.trustProxy ?? false,
    // No line per request: every open overview polls every 5 s. Actions and failures are logged.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors: (error, request, reply) => {
      const { status, body } = errorAnswer(error, request.id);
      void (reply as FastifyReply).status(status).send(body);
    },
  }) as unknown as FastifyInstance;
  app.decorateRequest('dashboardSession', undefined);
  app.decorateRequest('dashboardLang', undefined);
  app.decorateRequest('dashboardSessionEnded', undefined);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const t = (request: FastifyRequest): Translate => translator(request.dashboardLang ?? DEFAULT_LANG);
  const pageContext = (request: FastifyRequest, flash?: string): PageContext => ({
    t: t(request),
    lang: request.dashboardLang ?? DEFAULT_LANG,
    session: request.dashboardSession,
    path: localPath(request.url),
    hubName: deps.hub.organName,
    links: hasLinks,
    ...(flash ? { flash } : {}),
  });
  const sendPage = (reply: FastifyReply, page: string, status = 200): FastifyReply => reply.status(status).type('text/html; charset=utf-8').send(page);
  const flashOf = (request: FastifyRequest): string | undefined => {
    const done = query(request, 'done');
    const subject = query(request, 'subject') ?? '';
    const key = done ? DONE[done] : undefined;
    return key && /^[0-9A-Za-z.]{1,40}$/.test(subject) ? t(request)(key, { subject }) : undefined;
  };

  // --- who is asking, in which language; what they may do -------------------------------------
  app.addHook('onRequest', async (request, reply) => {
    void reply.headers(SECURITY_HEADERS);
    const cookies = parseCookies(request.headers.cookie);
    request.dashboardLang = isLang(cookies[LANG_COOKIE]) ? cookies[LANG_COOKIE] : DEFAULT_LANG;
    request.dashboardSession = sessions.get(cookies[SESSION_COOKIE]);
    request.dashboardSessionEnded = !request.dashboardSession && Boolean(cookies[SESSION_COOKIE]);
    // A browser tells us when another site made it send this request: never let that change anything.
    if (CHANGES.has(request.method) && request.headers['sec-fetch-site'] === 'cross-site') {
      throw Object.assign(new LtError('FORBIDDEN', 'cross-site requests may not change anything here'), { csrf: true });
    }
    const access = request.routeOptions.config?.access ?? 'viewer';
    if (access !== 'public' && !request.dashboardSession) throw new LtError('LOGIN_REQUIRED', 'log in to the dashboard first (your session may have expired)');
  });
  app.addHook('preHandler', async (request) => {
    const access = request.routeOptions.config?.access ?? 'viewer';
    const session = request.dashboardSession;
    if (access === 'public' || !session) return;
    if (CHANGES.has(request.method)) {
      const header = request.headers['x-csrf-token'];
      const presented = (Array.isArray(header) ? header[0] : header) ?? field(request.body, '_csrf');
      if (!sameToken(presented, session.csrfToken)) {
        throw Object.assign(new LtError('FORBIDDEN', 'the request lacks a valid CSRF token (form field _csrf or header X-CSRF-Token); reload the page'), { csrf: true });
      }
    }
    if (access === 'operator' && session.role !== 'operator') {
      throw new LtError('FORBIDDEN', `user ${session.user} is a viewer; only operators may change anything`);
    }
  });

  // --- errors: JSON under /api/, pages elsewhere ------------------------------------------------
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = errorAnswer(error, request.id);
    if (status >= 500) {
      request.log.error({ err: error, errorCode: body.error.code, url: request.url }, 'dashboard request failed');
      body.error.message = `an unexpected internal error; the hub log has the details under request id ${request.id}`;
    }
    if (isApi(request)) return reply.status(status).type('application/json; charset=utf-8').send(body);
    if (body.error.code === 'LOGIN_REQUIRED') {
      const next = request.method === 'GET' ? localPath(request.url) : '/';
      // "Your session expired" only to whom had one: a first visit has no cookie at all.
      if (!request.dashboardSessionEnded) return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 303);
      void reply.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { httpOnly: true, secure, sameSite: 'Strict', maxAgeSeconds: 0 }));
      return reply.redirect(`/login?expired=1&next=${encodeURIComponent(next)}`, 303);
    }
    const tr = t(request);
    const shown = (error as { shown?: unknown }).shown;
    const message =
      typeof shown === 'string'
        ? shown
        : body.error.code === 'FORBIDDEN'
          ? (error as { csrf?: boolean }).csrf
            ? tr('error.csrf')
            : tr('error.forbidden')
          : body.error.code === 'NOT_FOUND'
            ? tr('error.notFound')
            : (explainCode(request.dashboardLang ?? DEFAULT_LANG, body.error.code) ?? body.error.message);
    const back = localPath(field(request.body, 'back') ?? '/', '/');
    const detail = message === body.error.message ? undefined : { code: body.error.code, message: body.error.message };
    return sendPage(reply, errorPage(pageContext(request), status, message, back, detail), status);
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new LtError('NOT_FOUND', `no such resource: ${request.method} ${request.url.split('?')[0]}`);
    if (!request.dashboardSession && !isApi(request)) return reply.redirect(`/login?next=${encodeURIComponent(localPath(request.url))}`, 303);
    throw error;
  });

  // --- public: assets, login, language, metrics -------------------------------------------------
  const publicRoute = { config: { access: 'public' as Access } };
  const operatorRoute = { config: { access: 'operator' as Access } };
  app.get('/assets/dashboard.css', publicRoute, async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(DASHBOARD_CSS));
  app.get('/assets/dashboard.js', publicRoute, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(DASHBOARD_JS),
  );

  app.get('/login', publicRoute, async (request, reply) => {
    const next = localPath(query(request, 'next'));
    if (request.dashboardSession) return reply.redirect(next, 303);
    const tr = t(request);
    const message = query(request, 'expired') ? tr('login.expired') : query(request, 'out') ? tr('login.loggedOut') : undefined;
    return sendPage(reply, loginPage(pageContext(request), { next, ...(message ? { message } : {}) }));
  });

  app.post('/login', publicRoute, async (request, reply) => {
    const json = isApi(request);
    const name = (field(request.body, 'name') ?? '').trim();
    const password = field(request.body, 'password') ?? '';
    // What the limiter counts and the log names (user names have at most 64 characters).
    const who = name.slice(0, 64);
    const next = localPath(field(request.body, 'next'));
    const tr = t(request);
    const wait = limiter.retryAfter(who, request.ip);
    if (wait > 0) {
      request.log.warn({ user: who, ip: request.ip }, 'dashboard login refused: too many failures');
      void reply.header('retry-after', String(wait));
      if (json) throw new LtError('RATE_LIMITED', `too many failed logins; try again in ${wait} s`);
      return sendPage(reply, loginPage(pageContext(request), { next, name: who, error: tr('login.limited', { seconds: wait }) }), 429);
    }
    const user = name && name.length <= 64 && password && password.length <= 1024 ? authenticate(deps.db, name, password) : undefined;
    if (!user) {
      limiter.fail(who, request.ip);
      request.log.warn({ user: who, ip: request.ip }, 'dashboard login failed');
      if (json) throw new LtError('LOGIN_REQUIRED', 'wrong user name or password');
      return sendPage(reply, loginPage(pageContext(request), { next, name: who, error: tr('login.failed') }), 401);
    }
    const { id, session } = sessions.create(user);
    request.log.info({ user: user.name, role: user.role, ip: request.ip }, 'dashboard login');
    void reply.header('set-cookie', serializeCookie(SESSION_COOKIE, id, { httpOnly: true, secure, sameSite: 'Strict', maxAgeSeconds: SESSION_TTL_MS / 1000 }));
    if (json) return reply.send({ user: session.user, role: session.role, expiresAt: session.expiresAt, csrfToken: session.csrfToken });
    return reply.redirect(next, 303);
  });

  app.post('/logout', async (request, reply) => {
    const id = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    if (id) sessions.delete(id);
    request.log.info({ user: request.dashboardSession?.user }, 'dashboard logout');
    void reply.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { httpOnly: true, secure, sameSite: 'Strict', maxAgeSeconds: 0 }));
    return reply.redirect('/login?out=1', 303);
  });

  app.post('/lang', publicRoute, async (request, reply) => {
    const lang = field(request.body, 'lang');
    if (!isLang(lang)) throw new LtError('USAGE', 'lang is "vi" or "en"');
    void reply.header('set-cookie', serializeCookie(LANG_COOKIE, lang, { sameSite: 'Strict', secure, maxAgeSeconds: 365 * 86_400 }));
    return reply.redirect(localPath(field(request.body, 'back')), 303);
  });

  app.get('/metrics', publicRoute, async (request, reply) => {
    const token = deps.settings.metricsToken;
    if (token) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      if (!sameToken(match?.[1], token)) {
        void reply.header('www-authenticate', 'Bearer realm="lienthong metrics"');
        throw new LtError('AUTH_REQUIRED', 'the metrics need the bearer token of dashboard.metricsToken');
      }
    }
    if (!deps.metrics) throw new LtError('NOT_FOUND', 'this hub has no metrics');
    const text = await deps.metrics.text();
    return reply.type(deps.metrics.contentType).send(text);
  });

  // Liveness for container health checks and monitoring, as the edge's REST API has it: always
  // 200 while the hub serves (a degraded hub heals by itself), the answer says what is wrong.
  app.get('/health', publicRoute, async () => {
    const { status, problems } = deps.health?.() ?? { status: 'ok', problems: [] };
    return { status, organId: deps.hub.organId, problems };
  });

  // --- pages ------------------------------------------------------------------------------------
  app.get('/', async (request, reply) => sendPage(reply, overviewPage(pageContext(request, flashOf(request)), await overviewData(data))));

  app.get('/agencies', async (request, reply) => {
    const search = (query(request, 'q') ?? '').slice(0, 200);
    return sendPage(reply, agenciesPage(pageContext(request, flashOf(request)), search, agenciesData(data, search)));
  });

  const changeAgency = (status: 'active' | 'suspended') => async (request: FastifyRequest) => {
    const { organId } = request.params as { organId: string };
    const session = request.dashboardSession as Session;
    const agency = setAgencyStatus({ db: deps.db, actor: ACTOR(session), now: clock }, organId, status);
    request.log.info({ user: session.user, organId, status }, `agency ${status === 'active' ? 'resumed' : 'suspended'} from the dashboard`);
    return agency;
  };
  const backWith = (request: FastifyRequest, fallback: string, done: string, subject: string): string => {
    const back = localPath(field(request.body, 'back'), fallback);
    const path = back.split('?')[0] as string;
    const params = new URLSearchParams(back.includes('?') ? back.slice(back.indexOf('?') + 1) : '');
    params.set('done', done);
    params.set('subject', subject);
    return `${path}?${params.toString()}`;
  };
  for (const [action, status, done] of [
    ['suspend', 'suspended', 'suspended'],
    ['resume', 'active', 'resumed'],
  ] as const) {
    app.post(`/agencies/:organId/${action}`, operatorRoute, async (request, reply) => {
      const agency = await changeAgency(status)(request);
      return reply.redirect(backWith(request, '/agencies', done, agency.organId), 303);
    });
    app.post(`/api/agencies/:organId/${action}`, operatorRoute, async (request) => ({ agency: await changeAgency(status)(request) }));
  }

  app.get('/documents', async (request, reply) => {
    const q = (query(request, 'q') ?? '').slice(0, 300);
    const results = findData(data, q);
    const names = Object.fromEntries(agencyNames(deps.db));
    return sendPage(reply, documentSearchPage(pageContext(request), q, results, names));
  });

  app.get('/document', async (request, reply) => {
    const id = query(request, 'id') ?? '';
    const journey = id ? journeyData(data, id) : undefined;
    if (!journey) throw shownAs(new LtError('DOCUMENT_UNKNOWN', `no document ${id} is known to this hub`, { documentId: id }), t(request)('documents.notFound', { id }));
    return sendPage(reply, journeyPage(pageContext(request), journey));
  });

  const deadLetterStatus = (request: FastifyRequest): 'pending' | 'replayed' | 'discarded' | undefined => {
    const s = query(request, 'status');
    if (s === undefined || s === 'pending') return 'pending';
    if (s === 'all') return undefined;
    if (s === 'replayed' || s === 'discarded') return s;
    throw new LtError('USAGE', 'status is pending, replayed, discarded or all');
  };
  const page = (request: FastifyRequest, name: string, max: number, fallback: number): number => {
    const text = query(request, name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new LtError('USAGE', `${name} is a whole number from 0 to ${max}`);
    return n;
  };

  app.get('/dead-letters', async (request, reply) => {
    const status = deadLetterStatus(request);
    const list = explainDeadLetters(data, deps.deadLetters().list({ ...(status ? { status } : {}), limit: 200 }));
    return sendPage(reply, deadLettersPage(pageContext(request, flashOf(request)), status === 'pending' ? 'pending' : 'all', list));
  });

  const detailOf = async (request: FastifyRequest) => {
    const id = deadLetterId(request);
    const detail = await deadLetterDetail(data, deps.deadLetters(), id);
    if (!detail) throw new LtError('NOT_FOUND', `no dead letter ${id}`);
    return detail;
  };
  app.get('/dead-letters/:id', async (request, reply) => sendPage(reply, deadLetterPage(pageContext(request), await detailOf(request))));

  /** The bytes of a dead letter, for operators only: they may hold a document's content, so every look is audited. */
  const payloadFor = async (request: FastifyRequest, action: 'dead-letter.payload-view' | 'dead-letter.payload-download') => {
    const session = request.dashboardSession as Session;
    const detail = await detailOf(request);
    const bytes = await deps.deadLetters().payload(detail.deadLetter.id);
    if (!bytes) throw shownAs(new LtError('NOT_FOUND', `the bytes of dead letter ${detail.deadLetter.id} were deleted by retention`), t(request)('deadLetters.payload.pruned'));
    appendAudit(deps.db, { actor: ACTOR(session), action, subject: String(detail.deadLetter.id), details: { size: bytes.length } }, clock());
    request.log.info({ user: session.user, deadLetter: detail.deadLetter.id, action }, 'dead letter payload shown');
    return { detail, bytes };
  };
  app.get('/dead-letters/:id/payload', operatorRoute, async (request, reply) => {
    const { detail, bytes } = await payloadFor(request, 'dead-letter.payload-view');
    return sendPage(reply, deadLetterPayloadPage(pageContext(request), detail, payloadText(bytes)));
  });
  app.get('/dead-letters/:id/download', operatorRoute, async (request, reply) => {
    const { detail, bytes } = await payloadFor(request, 'dead-letter.payload-download');
    return reply
      .type('application/octet-stream')
      .header('content-disposition', `attachment; filename="dead-letter-${detail.deadLetter.id}.bin"`)
      .send(bytes);
  });

  const deadLetterId = (request: FastifyRequest): number => {
    const id = Number((request.params as { id: string }).id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new LtError('NOT_FOUND', `no dead letter ${(request.params as { id: string }).id}`);
    return id;
  };
  const replay = async (request: FastifyRequest): Promise<{ outcome: string }> => {
    const session = request.dashboardSession as Session;
    const id = deadLetterId(request);
    const result = await deps
      .deadLetters()
      .replay(id, ACTOR(session))
      .catch((error: unknown) => {
        // The router refused it again: say so in the page's language, with where to read why.
        if (error instanceof LtError && error.code === 'PACKET_INVALID') throw shownAs(error, t(request)('deadLetters.replayRefused', { id }));
        throw error;
      });
    request.log.info({ user: session.user, deadLetter: id, outcome: result.outcome }, 'dead letter replayed from the dashboard');
    return result;
  };
  const discard = (request: FastifyRequest): void => {
    const session = request.dashboardSession as Session;
    const id = deadLetterId(request);
    const reason = field(request.body, 'reason')?.slice(0, 500);
    deps.deadLetters().discard(id, ACTOR(session), reason ? `discarded by ${session.user}: ${reason}` : `discarded by ${session.user} from the dashboard`);
    request.log.info({ user: session.user, deadLetter: id }, 'dead letter discarded from the dashboard');
  };
  app.post('/dead-letters/:id/replay', operatorRoute, async (request, reply) => {
    await replay(request);
    return reply.redirect(backWith(request, '/dead-letters', 'replayed', String(deadLetterId(request))), 303);
  });
  app.post('/dead-letters/:id/discard', operatorRoute, async (request, reply) => {
    discard(request);
    return reply.redirect(backWith(request, '/dead-letters', 'discarded', String(deadLetterId(request))), 303);
  });

  app.get('/links', async (request, reply) => sendPage(reply, linksPage(pageContext(request), await linksData(data))));

  const period = (request: FastifyRequest) => {
    const from = query(request, 'from');
    const to = query(request, 'to');
    return { from, to, period: reportPeriod(from, to, clock()) };
  };
  app.get('/reports', async (request, reply) => {
    const { from, to, period: p } = period(request);
    const today = localDay(clock());
    if (!p) {
      return sendPage(reply, reportPage(pageContext(request), { from: from ?? '', to: to ?? today }, undefined, t(request)('reports.badDate')), 400);
    }
    return sendPage(reply, reportPage(pageContext(request), { from: p.from, to: p.to }, reportData(data, p)));
  });
  app.get('/reports/usage.csv', async (request, reply) => {
    const { period: p } = period(request);
    if (!p) throw new LtError('USAGE', 'from and to are dates yyyy-mm-dd (Vietnamese local days, both included), from not after to');
    const report = reportData(data, p);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="lienthong-usage-${p.from}-${p.to}.csv"`)
      .send(usageCsv(report.rows, usageCsvHeader(t(request))));
  });
  app.get('/reports/links.csv', async (request, reply) => {
    const { period: p } = period(request);
    if (!p) throw new LtError('USAGE', 'from and to are dates yyyy-mm-dd (Vietnamese local days, both included), from not after to');
    const report = reportData(data, p);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="lienthong-links-${p.from}-${p.to}.csv"`)
      .send(linkCsv(report.links, linkCsvHeader(t(request))));
  });

  // --- JSON API ---------------------------------------------------------------------------------
  app.get('/api/session', async (request) => {
    const s = request.dashboardSession as Session;
    return { user: s.user, role: s.role, expiresAt: s.expiresAt, csrfToken: s.csrfToken, lang: request.dashboardLang };
  });
  app.get('/api/overview', async () => overviewData(data));
  app.get('/api/links', async () => linksData(data));
  app.get('/api/agencies', async (request) => ({ items: agenciesData(data, (query(request, 'q') ?? '').slice(0, 200)) }));
  app.get('/api/documents', async (request) => ({ items: findData(data, (query(request, 'q') ?? '').slice(0, 300)) }));
  app.get('/api/document', async (request) => {
    const id = query(request, 'id') ?? '';
    const journey = id ? journeyData(data, id) : undefined;
    if (!journey) throw new LtError('DOCUMENT_UNKNOWN', `no document ${id} is known to this hub`, { documentId: id });
    return journey;
  });
  app.get('/api/dead-letters', async (request) => {
    const status = query(request, 'status') === undefined ? undefined : deadLetterStatus(request);
    return explainDeadLetters(data, deps.deadLetters().list({ ...(status ? { status } : {}), limit: page(request, 'limit', 500, 50), offset: page(request, 'offset', 1_000_000, 0) }));
  });
  app.get('/api/dead-letters/:id', async (request) => detailOf(request));
  app.post('/api/dead-letters/:id/replay', operatorRoute, async (request) => {
    const result = await replay(request);
    return { ...result, deadLetter: deps.deadLetters().get(deadLetterId(request)) };
  });
  app.post('/api/dead-letters/:id/discard', operatorRoute, async (request) => {
    discard(request);
    return { deadLetter: deps.deadLetters().get(deadLetterId(request)) };
  });
  app.get('/api/report', async (request) => {
    const { period: p } = period(request);
    if (!p) throw new LtError('USAGE', 'from and to are dates yyyy-mm-dd (Vietnamese local days, both included), from not after to');
    return reportData(data, p);
  });

  return app;
}

export interface RunningDashboard {
  /** e.g. http://127.0.0.1:8090, https:// with dashboard.tls (the port actually bound when 0 was configured). */
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** Listen on the configured host and port. */
export async function startDashboard(deps: DashboardDeps): Promise<RunningDashboard> {
  const app = createDashboard(deps);
  await app.listen({ host: deps.settings.host, port: deps.settings.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : deps.settings.port;
  const host = deps.settings.host.includes(':') ? `[${deps.settings.host}]` : deps.settings.host;
  const scheme = deps.settings.tls ? 'https' : 'http';
  return { url: `${scheme}://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`, app, close: () => app.close() };
}

/** The dashboard of a hub (started by the doors: `lienthong hub`, the local exchange). */
export function hubDashboardDeps(hub: Hub, clock?: () => Date): DashboardDeps {
  const settings = hub.config.dashboard;
  if (!settings) throw new LtError('CONFIG_INVALID', 'the hub configuration has no "dashboard" section');
  return {
    db: hub.db,
    names: hub.names,
    hub: { organId: hub.config.organId, organName: hub.config.organName, calendar: hub.config.calendar, urgentReceiptMinutes: hub.config.urgentReceiptMinutes },
    settings,
    // Its own client with a short timeout: a hung management API must not hang the page.
    queues: new ManagementClient({ ...hub.config.management, timeoutMs: 3_000 }),
    deadLetters: () => hub.deadLetters,
    metrics: hub.metrics,
    health: () => hub.health.snapshot(),
    ...(hub.config.federation ? { federation: dashboardFederation(hub) } : {}),
    ...(clock ? { clock } : {}),
    log: hub.log,
  };
}

/** A hub's links as the dashboard shows them: its configuration, and its link processes' counters. */
export function dashboardFederation(hub: Hub): DashboardFederation {
  const links = hub.config.federation?.links ?? [];
  return { links: links.map((link) => ({ name: link.name, kind: link.kind, patterns: link.patterns.map((p) => p.text) })), stats: () => hub.linkStats() };
}

export async function startHubDashboard(hub: Hub, clock?: () => Date): Promise<RunningDashboard> {
  return startDashboard(hubDashboardDeps(hub, clock));
}

/**
 * Start a hub with its dashboard when one is configured: the dashboard first, so that a port
 * already in use stops everything before the hub has connected to anything; a hub that then
 * fails to start takes the dashboard down with it.
 */
export async function startHubWithDashboard(hub: Hub, clock?: () => Date): Promise<RunningDashboard | undefined> {
  const dashboard = hub.config.dashboard ? await startHubDashboard(hub, clock) : undefined;
  if (dashboard) hub.log.info({ url: dashboard.url, metrics: `${dashboard.url}/metrics` }, `dashboard listening on ${dashboard.url}`);
  try {
    await hub.start();
  } catch (error) {
    await dashboard?.close().catch(() => {});
    throw error;
  }
  return dashboard;
}
