/**
 * The RabbitMQ management HTTP API (plugin rabbitmq_management): what AMQP cannot do, i.e.
 * users and permissions for agency provisioning, and queue depths / consumers for operators.
 */
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { LtError } from '../errors.js';
import { brokerFactsOf, type BrokerFacts } from './capacity.js';
import { addressList } from './url.js';
import { loadBrokerTls, tlsSocketOptions, type BrokerTls } from './tls.js';

export interface ManagementOptions {
  /**
   * e.g. http://127.0.0.1:15672; with a cluster, one URL per node separated by commas: a node
   * that does not answer is passed over for the next.
   */
  url: string;
  user: string;
  password: string;
  /** Default "/". */
  vhost?: string;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  /**
   * For https:// URLs: the CA the API's certificate must chain to (and a client certificate
   * when the API asks for one); the broker's "brokerTls". Absent: the system's CAs.
   */
  tls?: BrokerTls;
}

export interface QueueInfo {
  name: string;
  messages: number;
  messages_ready: number;
  messages_unacknowledged: number;
  consumers: number;
  arguments: Record<string, unknown>;
  /** Seconds since the epoch, or an ISO date, of the last consumer activity (when reported). */
  idle_since?: string;
  /** The policy in force on the queue; RabbitMQ applies a new policy to existing queues asynchronously. */
  policy?: string | null;
  /** "classic", "quorum" or "stream". */
  type?: string;
  /** A quorum queue's leader node. */
  leader?: string;
  /** A quorum queue's replicas: the nodes holding a copy, and those of them running. */
  members?: string[];
  online?: string[];
}

export interface Permissions {
  configure: string;
  write: string;
  read: string;
}

/** A policy's body as the management API takes and lists it. */
export interface Policy {
  pattern: string;
  /** "queues", "exchanges" or "all". */
  'apply-to': string;
  priority: number;
  definition: Record<string, unknown>;
}

export class ManagementClient {
  readonly vhost: string;
  /** Every node's management URL; the one that answered last is asked first. */
  private readonly bases: string[];
  private current = 0;
  private readonly auth: string;
  /** A request succeeded: the URL does lead to the management API. */
  private apiSeen = false;
  /** https:// with the configured CA (fetch takes no CA without a dependency: node:https does). */
  private readonly fetch: HttpFetch;

  constructor(private readonly options: ManagementOptions) {
    this.vhost = options.vhost ?? '/';
    this.fetch = tlsFetch(options.tls, { keepAlive: true });
    const listed = addressList(options.url).map((url) => url.replace(/\/+$/, ''));
    this.bases = listed.length > 0 ? listed : [options.url];
    this.auth = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
  }

  /** An API path with each segment encoded: the default vhost "/" is "%2F", never an empty segment. */
  private path(...segments: string[]): string {
    return segments.map((s) => encodeURIComponent(s)).join('/');
  }

  /** The management URL in use. */
  private get base(): string {
    return this.bases[this.current] as string;
  }

  /**
   * One HTTP exchange with the node in use, or, when it gives no answer at all (down, not
   * listening, silent past the timeout), with the next node of the list: every node of a
   * cluster serves the same API. Each node is tried once per request.
   */
  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    let unreachable: LtError | undefined;
    const attempt = (): Promise<Response> =>
      this.fetch(`${this.base}/api/${path}`, {
        method,
        headers: { authorization: this.auth, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    for (let tried = 0; tried < this.bases.length; tried += 1) {
      try {
        try {
          return await attempt();
        } catch (error) {
          // A kept-alive connection the API closed while it sat idle (seen when this process's
          // event loop was busy as the close came) is reused and fails at once: the node is
          // fine, a new connection is all it takes. Every call of this client may be repeated.
          if (!closedKeptAlive(error)) throw error;
          return await attempt();
        }
      } catch (error) {
        unreachable ??= this.unreachable(error);
        this.current = (this.current + 1) % this.bases.length;
      }
    }
    // The loop ran at least once: the first node's failure explains it, the others are counted.
    const first = unreachable as LtError;
    const others = this.bases.length - 1;
    if (others === 0) throw first;
    throw new LtError(first.code, `${first.message}; nor did the ${others} other management URL${others > 1 ? 's' : ''} answer`);
  }

  private async request<T>(method: string, path: string, body?: unknown, allow404 = false): Promise<T | undefined> {
    const response = await this.send(method, path, body);
    const shown = `RabbitMQ management API: ${method} ${this.base}/api/${path}`;
    if (allow404 && response.status === 404) {
      await response.body?.cancel();
      // A missing object, unless nothing here is the management API at all.
      if (this.apiSeen || (await this.answersOverview())) return undefined;
      throw this.noApiHere();
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      let reason = text;
      try {
        reason = (JSON.parse(text) as { reason?: string }).reason ?? text;
      } catch {
        // not JSON
      }
      throw await this.refused(response.status, reason, shown, path);
    }
    this.apiSeen = true;
    if (response.status === 204 || response.headers.get('content-length') === '0') return undefined;
    const text = await response.text();
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      throw new LtError('BROKER_MANAGEMENT_UNREACHABLE', `${shown} answered something other than JSON: check the management URL (management.url, or LT_MANAGEMENT_URL)`);
    }
  }


  /** No HTTP answer at all: nothing listens, a host that does not exist, something not HTTP. */
  private unreachable(error: unknown): LtError {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.message ?? (error as Error).message;
    const where = `the RabbitMQ management API at ${this.base}`;
    if (cause?.code === 'ECONNREFUSED') {
      return new LtError(
        'BROKER_MANAGEMENT_UNREACHABLE',
        `cannot reach ${where}: nothing accepts connections there (${detail}). Enable the plugin on the broker ("rabbitmq-plugins enable rabbitmq_management") or correct the port in the management URL (management.url, or LT_MANAGEMENT_URL)`,
      );
    }
    const tlsAdvice = managementTlsAdvice(cause?.code, this.base);
    if (tlsAdvice) return new LtError('BROKER_TLS', `cannot talk to ${where} over TLS: ${tlsAdvice} (${detail})`);
    if (cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN') {
      return new LtError('BROKER_MANAGEMENT_UNREACHABLE', `cannot reach ${where}: the host name is unknown (${detail}). Correct the management URL (management.url, or LT_MANAGEMENT_URL)`);
    }
    if ((error as Error).name === 'TimeoutError') {
      return new LtError('BROKER_MANAGEMENT_UNREACHABLE', `${where} did not answer within ${this.options.timeoutMs ?? 10_000} ms: check the broker's load and the management URL (management.url, or LT_MANAGEMENT_URL)`);
    }
    return new LtError(
      'BROKER_MANAGEMENT_UNREACHABLE',
      `cannot talk to ${where}: ${detail}. Check that the management URL (management.url, or LT_MANAGEMENT_URL) names the management port (15672 by default), not the AMQP port`,
    );
  }

  /** An HTTP error: wrong credentials, a URL where no management API answers, or a refusal. */
  private async refused(status: number, reason: string, shown: string, path: string): Promise<LtError> {
    if (status === 401) {
      const advice = /not.management.user/i.test(reason)
        ? `the user "${this.options.user}" has no management tag: give it one (rabbitmqctl set_user_tags ${this.options.user} administrator)`
        : `the user "${this.options.user}" does not exist or its password is wrong: check management.user and management.password (LT_MANAGEMENT_USER, LT_MANAGEMENT_PASSWORD)`;
      return new LtError('BROKER_MANAGEMENT_LOGIN', `${shown} answered 401 (${reason}): ${advice}`);
    }
    if (status === 403) {
      return new LtError('BROKER_MANAGEMENT', `${shown} answered 403 (${reason}): the user "${this.options.user}" may not do this; provisioning needs the administrator tag (rabbitmqctl set_user_tags ${this.options.user} administrator)`);
    }
    // A path RabbitMQ does not serve is answered 400, 404 or 405, as are a missing object and a
    // bad request: the overview, which always exists, tells a wrong management URL apart.
    if (path === 'overview' ? status === 404 : !this.apiSeen && !(await this.answersOverview())) return this.noApiHere();
    if (status === 404) {
      return new LtError('BROKER_MANAGEMENT', `${shown} answered 404 (${reason}): the virtual host "${this.vhost}" or the object does not exist on the broker`);
    }
    return new LtError('BROKER_MANAGEMENT', `${shown} answered ${status}: ${reason}`);
  }

  private noApiHere(): LtError {
    return new LtError(
      'BROKER_MANAGEMENT_UNREACHABLE',
      `no RabbitMQ management API at ${this.base} (${this.base}/api/overview is not found): check the management URL (management.url, or LT_MANAGEMENT_URL; e.g. http://127.0.0.1:15672, with the path prefix if the API is served under one) and that the rabbitmq_management plugin is enabled`,
    );
  }

  /** Whether the overview answers as the API does (a refused password still proves it is there). */
  private async answersOverview(): Promise<boolean> {
    try {
      const response = await this.fetch(`${this.base}/api/overview`, { headers: { authorization: this.auth }, signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000) });
      await response.body?.cancel();
      return response.ok || response.status === 401 || response.status === 403;
    } catch {
      return false;
    }
  }

  async overview(): Promise<{ rabbitmq_version: string; cluster_name: string }> {
    return (await this.request('GET', 'overview')) as { rabbitmq_version: string; cluster_name: string };
  }

  async putUser(name: string, password: string, tags = ''): Promise<void> {
    await this.request('PUT', `users/${this.path(name)}`, { password, tags });
  }

  async userExists(name: string): Promise<boolean> {
    return (await this.request('GET', `users/${this.path(name)}`, undefined, true)) !== undefined;
  }

  async deleteUser(name: string): Promise<void> {
    await this.request('DELETE', `users/${this.path(name)}`, undefined, true);
  }

  async setPermissions(user: string, permissions: Permissions): Promise<void> {
    await this.request('PUT', `permissions/${this.path(this.vhost, user)}`, permissions);
  }

  async putQueue(name: string, args: Record<string, unknown>): Promise<void> {
    await this.request('PUT', `queues/${this.path(this.vhost, name)}`, { durable: true, auto_delete: false, arguments: args });
  }

  async getQueue(name: string): Promise<QueueInfo | undefined> {
    return this.request<QueueInfo>('GET', `queues/${this.path(this.vhost, name)}`, undefined, true);
  }

  async listQueues(): Promise<QueueInfo[]> {
    return (await this.request<QueueInfo[]>('GET', `queues/${this.path(this.vhost)}`)) ?? [];
  }

  /** Deletes a queue and whatever it holds: callers check it is empty first (quorum queues have no if-empty delete). */
  async deleteQueue(name: string): Promise<void> {
    await this.request('DELETE', `queues/${this.path(this.vhost, name)}`, undefined, true);
  }

  async putExchange(name: string, type: string): Promise<void> {
    await this.request('PUT', `exchanges/${this.path(this.vhost, name)}`, { type, durable: true, auto_delete: false, internal: false, arguments: {} });
  }

  async listExchanges(): Promise<Array<{ name: string }>> {
    return (await this.request<Array<{ name: string }>>('GET', `exchanges/${this.path(this.vhost)}`)) ?? [];
  }

  async deleteExchange(name: string): Promise<void> {
    await this.request('DELETE', `exchanges/${this.path(this.vhost, name)}`, undefined, true);
  }

  async bindQueue(exchange: string, queue: string, routingKey: string): Promise<void> {
    await this.request('POST', `bindings/${this.path(this.vhost)}/e/${this.path(exchange)}/q/${this.path(queue)}`, { routing_key: routingKey, arguments: {} });
  }

  /** The cluster's nodes (one for a lone broker), running or not. */
  async listNodes(): Promise<Array<{ name: string; running: boolean }>> {
    return (await this.request<Array<{ name: string; running: boolean }>>('GET', 'nodes')) ?? [];
  }

  /**
   * Each running node's file-descriptor and memory budget (the broker capacity check). A node
   * that has not yet published its statistics (a few seconds after it starts) is left out.
   */
  async nodeBudgets(): Promise<BrokerFacts[]> {
    return brokerFactsOf(await this.nodeStats());
  }

  async listUsers(): Promise<Array<{ name: string }>> {
    return (await this.request<Array<{ name: string }>>('GET', 'users')) ?? [];
  }

  async putPolicy(name: string, policy: Policy): Promise<void> {
    await this.request('PUT', `policies/${this.path(this.vhost, name)}`, policy);
  }

  async listPolicies(): Promise<Array<Policy & { name: string }>> {
    return (await this.request<Array<Policy & { name: string }>>('GET', `policies/${this.path(this.vhost)}`)) ?? [];
  }

  async deletePolicy(name: string): Promise<void> {
    await this.request('DELETE', `policies/${this.path(this.vhost, name)}`, undefined, true);
  }

  /** Per-user limits (RabbitMQ 3.8.10+): "max-connections", "max-channels" (over all its connections). */
  async putUserLimit(user: string, limit: 'max-connections' | 'max-channels', value: number): Promise<void> {
    await this.request('PUT', `user-limits/${this.path(user, limit)}`, { value });
  }

  async getUserLimits(user: string): Promise<Record<string, number>> {
    const rows = await this.request<Array<{ user: string; value: Record<string, number> }>>('GET', `user-limits/${this.path(user)}`, undefined, true);
    return rows?.find((r) => r.user === user)?.value ?? {};
  }

  /** The management user itself: its name and tags ("administrator", ...). */
  async whoami(): Promise<{ name: string; tags: string[] }> {
    const me = (await this.request<{ name: string; tags: string | string[] }>('GET', 'whoami')) as { name: string; tags: string | string[] };
    // RabbitMQ 3.x lists tags as one comma-separated text, 4.x as an array.
    return { name: me.name, tags: Array.isArray(me.tags) ? me.tags : me.tags.split(',').filter((t) => t !== '') };
  }

  /** A user's permissions on this vhost, or undefined when it has none. */
  async getPermissions(user: string): Promise<Permissions | undefined> {
    return this.request<Permissions>('GET', `permissions/${this.path(this.vhost, user)}`, undefined, true);
  }

  /** Each node's resource figures and alarms, as /api/nodes reports them. */
  async nodeStats(): Promise<NodeStats[]> {
    return (await this.request<NodeStats[]>('GET', 'nodes')) ?? [];
  }
}

export interface NodeStats {
  name: string;
  running: boolean;
  fd_used?: number;
  fd_total?: number;
  sockets_used?: number;
  sockets_total?: number;
  mem_used?: number;
  mem_limit?: number;
  mem_alarm?: boolean;
  disk_free?: number;
  disk_free_limit?: number;
  disk_free_alarm?: boolean;
}

/** What a TLS failure of the management API means, or undefined when it is not one. */
/** fetch's failure when the server closed the connection it reused (undici: "other side closed"). */
function closedKeptAlive(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET';
}

export type HttpFetch = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string | undefined; signal: AbortSignal }) => Promise<Response>;

/**
 * fetch, or node:https with the broker's CA (and client certificate) for an https:// URL: the
 * management API and anything else on the broker's hosts. `keepAlive` for a client that asks often.
 */
export function tlsFetch(tls: BrokerTls | undefined, options: { keepAlive?: boolean } = {}): HttpFetch {
  const agent = tls ? new HttpsAgent({ ...tlsSocketOptions(loadBrokerTls(tls)), keepAlive: options.keepAlive ?? false }) : undefined;
  return (url, init) => (agent && url.startsWith('https:') ? httpsFetch(url, { ...init, headers: init.headers ?? {} }, agent) : fetch(url, init));
}

function managementTlsAdvice(code: string | undefined, base: string): string | undefined {
  if (!code) return undefined;
  if (/SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY_LEAF)|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED/.test(code)) {
    return "the API's certificate is not signed by a CA this node trusts: set brokerTls.ca (or LT_BROKER_CA) to the CA that issued it (management.ssl.cacertfile on the broker)";
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the API's certificate does not name the host of ${base}: use a host name it carries in the management URL`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return "the API's certificate is expired or not valid yet: renew it, or check this machine's clock";
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') return 'the port does not speak TLS: write http:// for a plain listener, or the HTTPS port (management.ssl.port)';
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return `the TLS handshake failed (${code}): check management.ssl on the broker and the files of brokerTls`;
  return undefined;
}

/**
 * One HTTPS exchange through node:https, answered as fetch answers: a Response, or a TypeError
 * "fetch failed" whose cause is the socket's error, or the signal's reason (a TimeoutError).
 */
function httpsFetch(url: string, init: { method?: string; headers: Record<string, string>; body?: string | undefined; signal: AbortSignal }, agent: HttpsAgent): Promise<Response> {
  return new Promise((resolve, reject) => {
    if (init.signal.aborted) {
      reject(init.signal.reason);
      return;
    }
    const req = httpsRequest(url, { method: init.method ?? 'GET', headers: init.headers, agent, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => reject(init.signal.aborted ? init.signal.reason : new TypeError('fetch failed', { cause: error })));
      res.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        const status = res.statusCode ?? 502;
        // Response refuses a body for these statuses.
        const body = status === 204 || status === 205 || status === 304 ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, ...(res.statusMessage ? { statusText: res.statusMessage } : {}), headers }));
      });
    });
    req.on('error', (error) => reject(init.signal.aborted ? init.signal.reason : new TypeError('fetch failed', { cause: error })));
    req.end(init.body);
  });
}
