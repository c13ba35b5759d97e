/**
 * Several hubs linked to each other on the one RabbitMQ, each under its own prefix with its own
 * edges (src/demo/local-exchange.ts), as provinces linked over AMQP. Hubs and agencies outside
 * certs-dev/ (another province's) get certificates issued here, with openssl, by the development
 * issuing CA: one national root, as in Vietnam. Everything is removed when the test ends.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { resourceNames } from '../../src/broker/names.js';
import { withCredentials } from '../../src/broker/connection.js';
import { DEFAULT_AMQP_URL } from '../../src/config.js';
import { devPath, startLocalExchange, type LocalExchange } from '../../src/demo/local-exchange.js';
import type { InboxEvent } from '../../src/edge/inbox.js';
import { federationSettings } from '../../src/federation/config.js';
import { addLink } from '../../src/hub/provisioning.js';
import type { RouteOutcome } from '../../src/hub/router.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { issueCertificate, openssl, type SelfMadeCa } from './pki.js';

/** The development issuing CA of certs-dev/, as openssl takes it. */
export const DEV_ISSUING_CA: SelfMadeCa = { caCertPath: devPath('issuing-ca.pem'), caKeyPath: devPath('issuing-ca.key.pem') };

export interface IssuedIdentity {
  key: string;
  cert: string;
  chain: string;
}

/** A signing certificate for `organId`, issued by `ca` (default: the development issuing CA). */
export function issueOrgan(dir: string, organId: string, name: string, ca: SelfMadeCa = DEV_ISSUING_CA): IssuedIdentity {
  const file = organId.replace(/\./g, '-');
  const key = join(dir, `${file}.key.pem`);
  openssl(dir, 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key);
  // openssl keeps a serial file beside the CA certificate: a copy here keeps certs-dev/ untouched.
  const issuer = ca === DEV_ISSUING_CA ? copyCa(dir, ca) : ca;
  const cert = issueCertificate(dir, issuer, key, organId, name, file);
  return { key, cert, chain: ca === DEV_ISSUING_CA ? devPath('issuing-ca.pem') : ca.caCertPath };
}

function copyCa(dir: string, ca: SelfMadeCa): SelfMadeCa {
  const copy = { caCertPath: join(dir, 'issuing-ca.pem'), caKeyPath: join(dir, 'issuing-ca.key.pem') };
  copyFileSync(ca.caCertPath, copy.caCertPath);
  copyFileSync(ca.caKeyPath, copy.caKeyPath);
  return copy;
}

export interface LinkSpec {
  /** The link's name in this hub's configuration. */
  name: string;
  /** The hub at the other end (its key in the list). */
  peer: string;
  patterns: string[];
  /** Trust anchors of the agencies behind it; default the development root. */
  anchors?: string[];
  /** The broker address the link dials (e.g. a relay the test can cut); default the shared broker's. */
  brokerUrl?: string;
}

export interface HubSpec {
  key: string;
  organId: string;
  organName: string;
  /** Organ ids of its agencies; those not in certs-dev/ are issued a certificate. */
  agencies: Array<{ organId: string; organName: string }>;
  links: LinkSpec[];
  /** The hub's and its edges' logger; default silent. */
  log?: Logger;
}

export interface LinkedHub {
  spec: HubSpec;
  exchange: LocalExchange;
  /** Every routing decision of this hub (inbound and intake), in order. */
  routed: RouteOutcome[];
  /** Every packet each of its edges handled, by organ id. */
  received: Map<string, InboxEvent[]>;
  /** The credentials each linked hub uses to publish to this hub's intake, by this hub's link name. */
  peers: Map<string, { user: string; password: string; url: string }>;
}

const IN_CERTS_DEV = new Set(['000.00.00.H12', '000.00.01.H12', '000.00.05.H12', '000.00.14.H12', '000.00.31.H12', '000.21.31.H12']);

/**
 * Start linked hubs: prefixes and link passwords are chosen first, so that every configuration
 * can name its peers' credentials; each hub provisions the users of the hubs linked to it
 * before any hub starts, then its agencies' edges start.
 */
export async function openFederation(t: Test, specs: HubSpec[]): Promise<Map<string, LinkedHub>> {
  const run = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), `lt-fed-${run}-`));
  const amqpUrl = process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const prefixOf = (key: string): string => `lt-fed-${run}-${key}`;
  const passwords = new Map<string, string>(); // "<hub>/<its link name>" → password of the peer's user there
  for (const spec of specs) for (const link of spec.links) passwords.set(`${spec.key}/${link.name}`, randomBytes(12).toString('hex'));
  const hubs = new Map<string, LinkedHub>();
  t.teardown(async () => {
    for (const hub of hubs.values()) await hub.exchange.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  const log = silentLogger();
  for (const spec of specs) {
    const prefix = prefixOf(spec.key);
    const hubIdentity = issueOrgan(dir, spec.organId, spec.organName);
    const links = spec.links.map((link) => {
      const peerSpec = specs.find((s) => s.key === link.peer);
      if (!peerSpec) throw new Error(`no hub ${link.peer}`);
      // The peer names its link to this hub by this hub's key; its user for us lives under its prefix.
      const back = peerSpec.links.find((l) => l.peer === spec.key);
      if (!back) throw new Error(`${link.peer} has no link back to ${spec.key}`);
      const user = resourceNames(prefixOf(link.peer)).linkUser(back.name);
      const password = passwords.get(`${link.peer}/${back.name}`) as string;
      return {
        name: link.name,
        kind: 'amqp',
        patterns: link.patterns,
        amqp: { url: withCredentials(link.brokerUrl ?? amqpUrl, user, password), prefix: prefixOf(link.peer) },
        trust: { anchors: link.anchors ?? [devPath('root-ca.pem')], intermediates: [devPath('issuing-ca.pem')], crls: [devPath('issuing-ca.crl.pem'), devPath('root-ca.crl.pem')], dev: true },
      };
    });
    const federation = federationSettings({ links }, { file: `${spec.key}.json`, baseDir: dir, env: {}, hubOrganId: spec.organId, hubPrefix: prefix });
    const routed: RouteOutcome[] = [];
    const exchange = await startLocalExchange({
      prefix,
      log: spec.log ?? log,
      amqpUrl,
      startHub: false,
      agencies: [],
      hubOptions: { onRouted: (o) => routed.push(o) },
      hubConfig: {
        organId: spec.organId,
        organName: spec.organName,
        identity: { key: hubIdentity.key, cert: hubIdentity.cert, chain: hubIdentity.chain },
        ...(federation ? { federation } : {}),
      },
    });
    const peers = new Map<string, { user: string; password: string; url: string }>();
    for (const link of spec.links) {
      const password = passwords.get(`${spec.key}/${link.name}`) as string;
      const { user } = await addLink({ db: exchange.hub.db, api: exchange.api, names: exchange.names, actor: 'test' }, { name: link.name, password });
      peers.set(link.name, { user, password, url: withCredentials(amqpUrl, user, password) });
    }
    hubs.set(spec.key, { spec, exchange, routed, received: new Map(), peers });
  }
  for (const hub of hubs.values()) await hub.exchange.hub.start();
  for (const hub of hubs.values()) {
    for (const agency of hub.spec.agencies) {
      const identity = IN_CERTS_DEV.has(agency.organId) ? undefined : issueOrgan(dir, agency.organId, agency.organName);
      await hub.exchange.addAgency({
        organId: agency.organId,
        organName: agency.organName,
        ...(identity ? { identity } : {}),
        edgeOptions: {
          onReceived: (event) => {
            let list = hub.received.get(agency.organId);
            if (!list) hub.received.set(agency.organId, (list = []));
            list.push(event);
          },
        },
      });
    }
  }
  return hubs;
}
