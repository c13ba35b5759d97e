/**
 * The RabbitMQ management HTTP API (plugin rabbitmq_management): what AMQP cannot do, i.e.
 * users and permissions for agency provisioning, and queue depths / consumers for operators.
 */
import { LtError } from '../errors.js';

export interface ManagementOptions {
  /** e.g. http://127.0.0.1:15672 */
  url: string;
  user: string;
  password: string;
  /** Default "/". */
  vhost?: string;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
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
  private readonly base: string;
  private readonly auth: string;

  constructor(private readonly options: ManagementOptions) {
    this.vhost = options.vhost ?? '/';
    this.base = options.url.replace(/\/+$/, '');
    this.auth = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
  }

  private path(...segments: string[]): string {
    return segments.map((s) => encodeURIComponent(s)).join('/');
  }

  private async request<T>(method: string, path: string, body?: unknown, allow404 = false): Promise<T | undefined> {
    let response: Response;
    try {
      response = await fetch(`${this.base}/api/${path}`, {
        method,
        headers: { authorization: this.auth, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new LtError(
        'BROKER_UNREACHABLE',
        `cannot reach the RabbitMQ management API at ${this.base}: ${(error as Error).message}. Enable it with "rabbitmq-plugins enable rabbitmq_management"`,
      );
    }
    if (allow404 && response.status === 404) return undefined;
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      let reason = text;
      try {
        reason = (JSON.parse(text) as { reason?: string }).reason ?? text;
      } catch {
        // not JSON
      }
      throw new LtError('BROKER_MANAGEMENT', `RabbitMQ management API: ${method} /api/${decodeURIComponent(path)} answered ${response.status}: ${reason}`);
    }
    if (response.status === 204 || response.headers.get('content-length') === '0') return undefined;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
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
}
