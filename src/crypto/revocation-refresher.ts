/**
 * Keeps a running hub's or edge's CRLs current without a restart: the configured CRL files are
 * watched and re-read, the HTTP(S) distribution points of the trusted CAs and of the node's own
 * certificate are downloaded on a schedule (crl-freshness.ts decides when), a CRL replaces the
 * one in force only when it is authentic and later, and every change reaches the crypto workers
 * (`apply`). A source that fails keeps its last good CRL and raises an alarm; so does a CRL
 * in force nearing its nextUpdate, before anything is refused.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { LtError, asLtError } from '../errors.js';
import { readInput } from '../files.js';
import type { HealthBoard } from '../health.js';
import type { Logger } from '../log.js';
import { describeName, readCertificates } from './certificates.js';
import {
  crlsInForce,
  distributionPoints,
  freshnessAlarm,
  freshnessOf,
  nextAttemptAt,
  supersedes,
  type CrlCandidate,
  type CrlFreshness,
  type CrlRefreshSettings,
} from './crl-freshness.js';
import { createTrustStore, crlSignedBy, readCrlDer, readCrls, readNodeTrust, validateChain, type TrustFiles, type TrustMaterial } from './trust.js';
import * as x509 from './x509.js';

/** A download that takes longer is abandoned (and retried). */
const DOWNLOAD_TIMEOUT_MS = 30_000;
/** The largest CRL downloaded: national CAs' CRLs run to megabytes, not hundreds of them. */
const MAX_CRL_BYTES = 64 * 1024 * 1024;
/** File events come in bursts (write, rename); one re-read after the burst. */
const WATCH_SETTLE_MS = 200;
/** The health board components this module raises. */
export const CRL_FRESHNESS_COMPONENT = 'revocation';
export const CRL_SOURCES_COMPONENT = 'crl-sources';
export const OWN_CERTIFICATE_COMPONENT = 'identity';

export interface RevocationRefresherOptions {
  files: TrustFiles;
  settings: CrlRefreshSettings;
  /**
   * The node's own certificate (first) and chain: their distribution points are fetched too,
   * and the certificate is checked against each new trust (revoked, expired: the node is
   * degraded, since every verifier refuses what it signs).
   */
  identityCertificates?: () => readonly x509.X509Certificate[];
  /** Called with the new trust material whenever the CRLs in force (or the trust files) change. */
  apply?: (material: TrustMaterial) => void;
  health?: HealthBoard;
  log?: Logger;
  clock?: () => Date;
  /** Names the configuration in error messages. */
  source?: string;
}

interface Download {
  /** The last good CRL from this URL. */
  last: CrlCandidate | undefined;
  due: number;
  error: string | undefined;
}

export class RevocationRefresher {
  private base: TrustMaterial;
  private cas: x509.X509Certificate[] = [];
  private fileCrls: CrlCandidate[] = [];
  private fileErrors = new Map<string, string>();
  private readonly downloads = new Map<string, Download>();
  private inForce: CrlCandidate[] = [];
  private current: TrustMaterial;
  private timer: NodeJS.Timeout | undefined;
  private watchers: FSWatcher[] = [];
  private settleTimer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly clock: () => Date;

  private constructor(private readonly options: RevocationRefresherOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.base = { anchors: [] };
    this.current = this.base;
  }

  /** Reads the trust files as a node starts: a file that cannot be read or used refuses the start. */
  static async open(options: RevocationRefresherOptions): Promise<RevocationRefresher> {
    const refresher = new RevocationRefresher(options);
    await refresher.readFiles(true);
    refresher.compose();
    return refresher;
  }

  /** The trust material in force (anchors, intermediates, CRLs in force, policy, grace). */
  material(): TrustMaterial {
    return this.current;
  }

  /** Each CRL in force with its nextUpdate and state, for /metrics and /health. */
  freshness(): CrlFreshness[] {
    return freshnessOf(this.inForce, this.clock(), this.options.settings);
  }

  /** Start watching the CRL files and refreshing on schedule; the first round runs now. */
  start(): void {
    if (this.stopped || this.timer) return;
    for (const dir of new Set((this.options.files.crls ?? []).map((path) => dirname(path)))) {
      const names = new Set((this.options.files.crls ?? []).filter((path) => dirname(path) === dir).map((path) => basename(path)));
      try {
        // The directory, not the file: a CRL replaced by rename (how tools publish atomically) is a new inode a file watch would miss.
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(name.toString())) this.soon();
        });
        watcher.on('error', (error) => this.options.log?.warn({ err: error.message, dir }, 'watching CRL files failed; they are still re-read every interval'));
        this.watchers.push(watcher);
      } catch (error) {
        this.options.log?.warn({ err: (error as Error).message, dir }, 'cannot watch the CRL files; they are re-read every interval');
      }
    }
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.settleTimer);
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
  }

  /** One refresh now: CRL files re-read, due distribution points downloaded. Concurrent calls share a round. */
  refresh(): Promise<void> {
    if (this.round) {
      this.again = true;
      return this.round;
    }
    this.round = (async () => {
      try {
        do {
          this.again = false;
          await this.readFiles(false).catch((error: unknown) => this.options.log?.error({ err: asLtError(error).message }, 'reading the CRL files failed'));
          await this.downloadDue();
          this.compose();
        } while (this.again && !this.stopped);
      } finally {
        this.round = undefined;
        this.schedule();
      }
    })();
    return this.round;
  }

  /**
   * Re-read every trust file (SIGHUP): anchors, intermediates and CRLs. A set that cannot be
   * used (an unreadable anchor, a CRL that cannot be read) is refused whole, with the reason,
   * and the trust in force stays.
   */
  async reload(): Promise<void> {
    await this.readFiles(true);
    this.compose();
    this.schedule(0);
  }

  /** A timer's round: a failure (a bug, not a source: those are caught and alarmed) is logged, never an unhandled rejection. */
  private refreshInBackground(): Promise<void> {
    return this.refresh().catch((error: unknown) => this.options.log?.error({ err: (error as Error).message }, 'refreshing the CRLs failed; tried again at the next round'));
  }

  private soon(): void {
    if (this.stopped) return;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.refreshInBackground(), WATCH_SETTLE_MS);
    this.settleTimer.unref();
  }

  /** Next round: at the earliest due download, file re-read or change of a CRL's freshness state. */
  private schedule(delayMs?: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const now = this.clock().getTime();
    const { settings } = this.options;
    let due = now + settings.intervalMinutes * 60_000;
    for (const d of this.downloads.values()) due = Math.min(due, d.due);
    for (const f of this.freshness()) {
      if (!f.nextUpdate) continue;
      const next = f.nextUpdate.getTime();
      for (const edge of [next - settings.warnBeforeHours * 3_600_000, next, next + settings.graceHours * 3_600_000]) if (edge > now) due = Math.min(due, edge + 1000);
    }
    const wait = delayMs ?? Math.max(1000, due - now);
    this.timer = setTimeout(() => void this.refreshInBackground(), Math.min(2 ** 31 - 1, wait));
    this.timer.unref();
  }

  /**
   * Read the trust files. `strict` (start, SIGHUP): any problem refuses the whole set and
   * throws. Otherwise (a scheduled round) only the CRL files are re-read, and a file that
   * cannot be read or used keeps its last good CRLs, with an alarm.
   */
  private async readFiles(strict: boolean): Promise<void> {
    const files = this.options.files;
    const source = this.options.source ?? 'the configuration';
    if (strict) {
      const base = await readNodeTrust({ ...files, crls: [] }, source);
      const cas = [...base.anchors, ...(base.intermediates ?? [])].flatMap((pem) => readCertificates(pem, 'trust certificate'));
      const crls: CrlCandidate[] = [];
      for (const path of files.crls ?? []) crls.push(...(await this.readCrlFile(path, cas)));
      this.base = base;
      this.cas = cas;
      this.fileCrls = crls;
      this.fileErrors.clear();
      return;
    }
    const crls: CrlCandidate[] = [];
    for (const path of files.crls ?? []) {
      try {
        crls.push(...(await this.readCrlFile(path, this.cas)));
        this.fileErrors.delete(path);
      } catch (error) {
        const message = asLtError(error).message;
        if (this.fileErrors.get(path) !== message) this.options.log?.warn({ path, err: message }, 'a CRL file cannot be used now; its last good CRL stays in force');
        this.fileErrors.set(path, message);
        crls.push(...this.fileCrls.filter((c) => c.source === path));
      }
    }
    this.fileCrls = crls;
  }

  private async readCrlFile(path: string, cas: readonly x509.X509Certificate[]): Promise<CrlCandidate[]> {
    let crls: x509.X509Crl[];
    try {
      crls = readCrls((await readInput(path)).toString('utf8'));
    } catch (error) {
      const e = asLtError(error);
      throw new LtError(e.code, `${path}: ${e.message}`, { path: 'trust.crls' });
    }
    return Promise.all(crls.map(async (crl) => ({ crl, source: path, authentic: await authentic(crl, cas) })));
  }

  /** Every URL to download: configured ones and the HTTP(S) distribution points of trusted CAs and the node's own certificates. */
  private urls(): string[] {
    const { settings } = this.options;
    if (!settings.fetch) return settings.urls;
    const certs = [...this.cas, ...(this.options.identityCertificates?.() ?? [])];
    return [...new Set([...settings.urls, ...certs.flatMap(distributionPoints)])];
  }

  private async downloadDue(): Promise<void> {
    const urls = this.urls();
    for (const url of this.downloads.keys()) if (!urls.includes(url)) this.downloads.delete(url);
    const now = this.clock();
    await Promise.all(
      urls.map(async (url) => {
        const state = this.downloads.get(url) ?? { last: undefined, due: 0, error: undefined };
        this.downloads.set(url, state);
        if (state.due > now.getTime()) return;
        try {
          const crl = await this.download(url);
          const inForce = this.inForceOf(crl.issuer);
          if (supersedes(crl, inForce) || !state.last) state.last = { crl, source: url, authentic: true };
          else if (inForce && crl.thisUpdate < inForce.thisUpdate) {
            this.options.log?.warn({ url, served: crl.thisUpdate.toISOString(), inForce: inForce.thisUpdate.toISOString() }, 'a distribution point serves an older CRL than the one in force; the one in force stays');
          }
          if (state.error) this.options.log?.info({ url }, 'the CRL distribution point answers again');
          state.error = undefined;
          state.due = nextAttemptAt(this.options.settings, now, { ok: true, crl: state.last?.crl }).getTime();
        } catch (error) {
          const message = asLtError(error).message;
          if (state.error !== message) this.options.log?.warn({ url, err: message }, 'downloading a CRL failed; the last good CRL stays in force');
          state.error = message;
          state.due = nextAttemptAt(this.options.settings, now, { ok: false, crl: state.last?.crl }).getTime();
        }
      }),
    );
  }

  private inForceOf(issuer: string): x509.X509Crl | undefined {
    return this.inForce.find((c) => c.authentic && c.crl.issuer === issuer)?.crl;
  }

  private async download(url: string): Promise<x509.X509Crl> {
    const bytes = await fetchBytes(url);
    const text = bytes.subarray(0, 64).toString('latin1');
    const crls = text.includes('-----BEGIN') ? readCrls(bytes.toString('utf8')) : [readCrlDer(new Uint8Array(bytes))];
    if (crls.length !== 1) throw new LtError('CRL_INVALID', `${url} serves ${crls.length} CRLs; a distribution point serves one`);
    const crl = crls[0] as x509.X509Crl;
    if (!(await authentic(crl, this.cas))) {
      throw new LtError('CRL_INVALID', `${url} serves a CRL of "${crl.issuer}" that is not signed by a trusted CA of that name; it is not used`);
    }
    return crl;
  }

  /** Recompute the CRLs in force and the alarms; hand the material on when it changed. */
  private compose(): void {
    const candidates = [...this.fileCrls, ...[...this.downloads.values()].flatMap((d) => (d.last ? [d.last] : []))];
    const inForce = crlsInForce(candidates);
    const key = (list: CrlCandidate[]): string => list.map((c) => `${c.source}@${c.crl.issuer}@${c.crl.thisUpdate.getTime()}`).join('\n');
    const grace = this.options.settings.graceHours * 3_600_000;
    const material: TrustMaterial = {
      ...this.base,
      crls: inForce.map((c) => `${x509.PemConverter.encode(c.crl.rawData, 'X509 CRL')}\n`),
      ...(grace > 0 ? { crlGraceMs: grace } : {}),
    };
    const changed = key(inForce) !== key(this.inForce) || material.anchors !== this.current.anchors;
    const replaced = this.inForce.length > 0 && changed;
    this.inForce = inForce;
    if (changed) {
      this.current = material;
      if (replaced) {
        this.options.log?.info(
          { crls: inForce.filter((c) => c.authentic).map((c) => ({ issuer: c.crl.issuer, source: c.source, thisUpdate: c.crl.thisUpdate.toISOString(), nextUpdate: c.crl.nextUpdate?.toISOString() ?? null })) },
          'the CRLs in force changed; verification uses them from now on',
        );
      }
      this.options.apply?.(material);
    }
    this.report();
  }

  /**
   * Whether the node's own certificate still passes what verifiers check, under the trust in
   * force now. At start it is refused outright; later, a CA revoking it or its expiry would leave
   * the node signing packets every verifier refuses, with nothing said: the health board says it.
   */
  checkOwnCertificate(): Promise<void> {
    const health = this.options.health;
    const [leaf, ...chain] = this.options.identityCertificates?.() ?? [];
    if (!health || !leaf) return Promise.resolve();
    const now = this.clock();
    return validateChain(leaf, chain, createTrustStore(this.current), now, now)
      .then((result) => {
        const problem = result.problems[0];
        if (!problem) return health.clear(OWN_CERTIFICATE_COMPONENT);
        health.raise(
          OWN_CERTIFICATE_COMPONENT,
          problem.code,
          `this node's own signing certificate "${describeName(leaf.subjectName)}" fails verification: ${problem.message}; every packet it signs is refused: install a new key and certificate over the identity files and send SIGHUP`,
        );
      })
      .catch((error: unknown) => this.options.log?.error({ err: (error as Error).message }, 'checking the own certificate failed; checked again at the next round'));
  }

  private report(): void {
    const health = this.options.health;
    if (!health) return;
    void this.checkOwnCertificate();
    const alarm = freshnessAlarm(this.freshness(), this.base.revocation ?? 'require');
    if (alarm) health.raise(CRL_FRESHNESS_COMPONENT, alarm.code, alarm.message);
    else health.clear(CRL_FRESHNESS_COMPONENT);
    const failing = [
      ...[...this.fileErrors].map(([path, error]) => `${path}: ${error}`),
      ...[...this.downloads].filter(([, d]) => d.error).map(([url, d]) => `${url}: ${d.error ?? ''}`),
    ];
    if (failing.length > 0) {
      health.raise(CRL_SOURCES_COMPONENT, 'CRL_FETCH_FAILED', `${failing.length} CRL source(s) failed, their last good CRLs stay in force: ${failing.join('; ')}`);
    } else health.clear(CRL_SOURCES_COMPONENT);
  }
}

/** Signed by a trusted CA whose subject is the CRL's issuer. */
async function authentic(crl: x509.X509Crl, cas: readonly x509.X509Certificate[]): Promise<boolean> {
  for (const ca of cas) if (ca.subject === crl.issuer && (await crlSignedBy(crl, ca))) return true;
  return false;
}

async function fetchBytes(url: string): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new LtError('CRL_FETCH_FAILED', `${url} cannot be reached: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => {});
    throw new LtError('CRL_FETCH_FAILED', `${url} answers HTTP ${response.status}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_CRL_BYTES) {
        await reader.cancel().catch(() => {});
        throw new LtError('CRL_FETCH_FAILED', `${url} serves more than ${MAX_CRL_BYTES} bytes; not a CRL this node takes`);
      }
      chunks.push(Buffer.from(value));
    }
  } catch (error) {
    if (error instanceof LtError) throw error;
    throw new LtError('CRL_FETCH_FAILED', `${url}: the download broke off: ${(error as Error).message}`);
  }
  return Buffer.concat(chunks);
}
