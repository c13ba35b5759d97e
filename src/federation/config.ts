/**
 * hub.json "federation": the other hubs this hub is linked to. Each link names the organ ids
 * the remote hub serves (patterns), the trust anchors its agencies' certificates chain to, and
 * how to reach it, by kind: "amqp" (another lienthong hub, with the broker user it publishes to
 * this hub's intake as) or "axis" (the national exchange axis, over the SDK's HTTP protocol).
 *
 *   "federation": { "links": [ { "name": "h53", "kind": "amqp", "patterns": ["*.H53"],
 *     "amqp": { "url": "amqps://lt.link.h12:...@hub.h53.example:5671/lt", "prefix": "lt" },
 *     "trust": { "anchors": ["certs/h53-root.pem"] } } ] }
 *   { "name": "axis", "kind": "axis", "patterns": ["*.G*"], "trust": {...},
 *     "axis": { "baseUrl": "https://axis.example/vxp", "systemId": "...", "secretEnv": "LT_AXIS_SECRET" } }
 */
import { LtError } from '../errors.js';
import { envSecret, resolvePath, trustFiles, type TrustFileConfig } from '../config.js';
import { DEFAULT_PREFIX, LINK_NAME_PATTERN, resourceNames } from '../broker/names.js';
import { addressList, redactUrl } from '../broker/url.js';
import { assertTlsUrls, brokerTlsSetting, type BrokerTls } from '../broker/tls.js';
import { compilePattern, type LinkRoute, type OrganPattern } from './patterns.js';
import { MAX_HOPS } from './hops.js';
import { axisSettings, type AxisSettings } from './axis/settings.js';

interface LinkBase extends LinkRoute {
  name: string;
  patterns: OrganPattern[];
  /** What the agencies behind the remote hub sign with: their packets verify against these only. */
  trust: TrustFileConfig;
}

export interface AmqpLinkConfig extends LinkBase {
  kind: 'amqp';
  /** The broker user the remote hub publishes to this hub's intake as. Default `P.link.<name>`. */
  peerUser: string;
  amqp: {
    /** The remote broker's AMQP URL(s), with the user `hub link add` made there and its password. */
    urls: string[];
    /** The remote hub's broker prefix: packets go to `<prefix>.federation-in`. Default "lt". */
    prefix: string;
    /** The user the URL logs in as: set as the validated AMQP user-id of every message. */
    user: string;
    tls?: BrokerTls;
  };
}

/**
 * The national exchange axis: the hub is one system of it and speaks the SDK's HTTP protocol
 * (sdk-protocol.md). Nobody publishes to this hub's intake for it: the hub's own link process
 * takes what the axis holds and puts it in the link's inbox.
 */
export interface AxisLinkConfig extends LinkBase {
  kind: 'axis';
  axis: AxisSettings;
}

/** Every kind of link; the link process is chosen by kind (link-process.ts). */
export type LinkConfig = AmqpLinkConfig | AxisLinkConfig;
export type LinkKind = LinkConfig['kind'];

export interface FederationConfig {
  links: LinkConfig[];
  /** Hubs a packet may have passed before this hub refuses it. Default MAX_HOPS. */
  maxHops: number;
}

export interface FederationContext {
  file: string;
  baseDir: string;
  env: NodeJS.ProcessEnv;
  /** This hub's organ id and prefix: no pattern may match the one, peer users live under the other. */
  hubOrganId: string;
  hubPrefix: string;
}

const LINK_KEYS = { amqp: ['name', 'kind', 'patterns', 'amqp', 'trust', 'peerUser'], axis: ['name', 'kind', 'patterns', 'axis', 'trust'] } as const;
const AMQP_KEYS = ['url', 'prefix', 'user', 'tls'];

/** The environment variable holding a link's broker password (or `<it>_FILE`, a file holding it). */
export function linkPasswordVariable(name: string): string {
  return `LT_LINK_${name.toUpperCase().replace(/-/g, '_')}_PASSWORD`;
}

export function federationSettings(raw: unknown, ctx: FederationContext): FederationConfig | undefined {
  if (raw === undefined) return undefined;
  const fail = (path: string, message: string): never => {
    throw new LtError('CONFIG_INVALID', `${ctx.file}: "${path}" ${message}`, { path });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('federation', 'must be an object such as {"links": [...]}');
  const section = raw as Record<string, unknown>;
  for (const key of Object.keys(section)) if (key !== 'links' && key !== 'maxHops') fail(`federation.${key}`, 'is not a setting; the settings are links, maxHops');
  const maxHops = section.maxHops ?? MAX_HOPS;
  if (typeof maxHops !== 'number' || !Number.isInteger(maxHops) || maxHops < 1 || maxHops > 16) fail('federation.maxHops', 'must be a whole number from 1 to 16');
  if (!Array.isArray(section.links)) return fail('federation.links', 'must be a list of links to other hubs');
  const links = section.links.map((item, i) => linkSettings(item, `federation.links[${i}]`, ctx, fail));
  const names = new Set<string>();
  const patterns = new Map<string, string>();
  const users = new Set<string>();
  for (const link of links) {
    if (names.has(link.name)) fail('federation.links', `name the link "${link.name}" twice; each link needs a name of its own`);
    names.add(link.name);
    if (link.kind === 'amqp') {
      if (users.has(link.peerUser)) fail('federation.links', `give two links the peer user "${link.peerUser}": the intake could not tell which hub sent a packet`);
      users.add(link.peerUser);
    }
    for (const pattern of link.patterns) {
      const other = patterns.get(pattern.text);
      if (other !== undefined) fail('federation.links', `give the pattern "${pattern.text}" to both "${other}" and "${link.name}": one organ id would have two routes`);
      patterns.set(pattern.text, link.name);
    }
  }
  return { links, maxHops: maxHops as number };
}

function linkSettings(item: unknown, path: string, ctx: FederationContext, fail: (path: string, message: string) => never): LinkConfig {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return fail(path, 'must be an object: {name, kind, patterns, trust, and amqp or axis}');
  const o = item as Record<string, unknown>;
  const kind = o.kind;
  if (kind !== 'amqp' && kind !== 'axis') return fail(`${path}.kind`, 'must be "amqp" (a hub reached over RabbitMQ) or "axis" (the national exchange axis, over HTTP)');
  const keys: readonly string[] = LINK_KEYS[kind];
  for (const key of Object.keys(o)) if (!keys.includes(key)) fail(`${path}.${key}`, `is not a setting of a link of kind "${kind}"; the settings are ${keys.join(', ')}`);
  const name = o.name;
  if (typeof name !== 'string' || !LINK_NAME_PATTERN.test(name)) return fail(`${path}.name`, 'must be 1-32 lower-case letters, digits, "-" or "_" (it names the link\'s queues and broker user), e.g. "h53"');
  if (!Array.isArray(o.patterns) || o.patterns.length === 0) return fail(`${path}.patterns`, 'must list the organ ids the remote hub serves, e.g. ["*.H53"]');
  const patterns = o.patterns.map((text, i) => {
    const pattern = compilePattern(text as string, `${ctx.file}: "${path}.patterns[${i}]"`);
    if (pattern.test(ctx.hubOrganId)) fail(`${path}.patterns[${i}]`, `("${pattern.text}") matches this hub's own organ id ${ctx.hubOrganId}: a link serves another hub's agencies, never this one's`);
    return pattern;
  });
  const trust = trustFiles(o.trust, ctx.baseDir, `${ctx.file}: "${path}"`);
  if (kind === 'axis') return { name, kind, patterns, trust, axis: axisSettings(o.axis, ctx.env, `${path}.axis`, ctx.file) };
  const peerUser = o.peerUser ?? resourceNames(ctx.hubPrefix).linkUser(name);
  if (typeof peerUser !== 'string' || peerUser === '') return fail(`${path}.peerUser`, 'must be the broker user the remote hub publishes as');
  return { name, kind: 'amqp', patterns, trust, peerUser, amqp: amqpSettings(o.amqp, `${path}.amqp`, name, ctx, fail) };
}

function amqpSettings(raw: unknown, path: string, name: string, ctx: FederationContext, fail: (path: string, message: string) => never): AmqpLinkConfig['amqp'] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(path, 'must be an object such as {"url": "amqps://user:password@hub.example:5671/vhost", "prefix": "lt"}');
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!AMQP_KEYS.includes(key)) fail(`${path}.${key}`, `is not a setting; the settings are ${AMQP_KEYS.join(', ')}`);
  if (typeof o.url !== 'string' && !(Array.isArray(o.url) && o.url.length > 0 && o.url.every((u) => typeof u === 'string'))) {
    return fail(`${path}.url`, "must be the remote broker's AMQP URL (or one per node), with the user and password \"hub link add\" printed there");
  }
  const password = envSecret(ctx.env, linkPasswordVariable(name));
  const urls = addressList(o.url as string | string[]).map((url) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return fail(`${path}.url`, `(${redactUrl(url)}) is not a URL`);
    }
    if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') fail(`${path}.url`, `(${redactUrl(url)}) must be an amqp:// or amqps:// URL`);
    // The password may stay out of the file: the environment's, when given, wins.
    if (password !== undefined) u.password = encodeURIComponent(password);
    return u.toString();
  });
  const first = new URL(urls[0] as string);
  const user = typeof o.user === 'string' && o.user !== '' ? o.user : decodeURIComponent(first.username);
  if (!user) fail(`${path}.url`, 'names no user: put the user "hub link add" printed on the remote hub in the URL (or "user", with a client certificate)');
  const prefix = o.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string') return fail(`${path}.prefix`, "must be the remote hub's broker prefix");
  // Checked as the remote's names are built: a bad prefix fails here, not at the first packet.
  try {
    resourceNames(prefix);
  } catch (error) {
    fail(`${path}.prefix`, (error as Error).message);
  }
  const tls = brokerTlsSetting(o.tls, {}, (p) => resolvePath(ctx.baseDir, p), `${ctx.file}: "${path}"`);
  assertTlsUrls(tls, urls, `${ctx.file}: "${path}"`);
  return { urls, prefix, user, ...(tls ? { tls } : {}) };
}
