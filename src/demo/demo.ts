/**
 * `lienthong demo`: a hub and three edges in one process against a real RabbitMQ, provisioned
 * with the development certificates, exchanging one signed document with an attachment. It
 * runs under a fresh broker prefix and a temporary directory, and removes both afterwards.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerConnection } from '../broker/connection.js';
import { ManagementClient, type ManagementOptions } from '../broker/management.js';
import { resourceNames } from '../broker/names.js';
import { deleteDeployment } from '../broker/topology.js';
import { DEFAULT_AMQP_URL, DEFAULT_MANAGEMENT_URL } from '../config.js';
import type { EdgeConfig } from '../edge/config.js';
import { Edge } from '../edge/edge.js';
import type { InboxEvent } from '../edge/inbox.js';
import { vhostOf, type HubConfig } from '../hub/config.js';
import { Hub } from '../hub/hub.js';
import { addAgency } from '../hub/provisioning.js';
import type { RouteOutcome } from '../hub/router.js';
import { silentLogger, type Logger } from '../log.js';

/** The checkout's development PKI (never for production). */
export const DEV_CERTS = fileURLToPath(new URL('../../certs-dev/', import.meta.url));

export const DEMO_HUB = { organId: '000.00.90.H12', organName: 'Trục liên thông văn bản tỉnh Cà Mau (DEV hub)' };
export const DEMO_AGENCIES = [
  { organId: '000.00.01.H12', organName: 'Văn phòng UBND tỉnh Cà Mau' },
  { organId: '000.00.05.H12', organName: 'Sở Tài chính tỉnh Cà Mau' },
  { organId: '000.00.31.H12', organName: 'UBND thành phố Cà Mau' },
] as const;

export interface DemoOptions {
  /** Environment to read AMQP_URL and LT_MANAGEMENT_* from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  amqpUrl?: string;
  management?: Partial<ManagementOptions>;
  /** Broker prefix; default a fresh "lt-demo-xxxxxx". */
  prefix?: string;
  /** Milliseconds to wait for the receipts. Default 30 s. */
  timeoutMs?: number;
  log?: Logger;
  /** Told about each step as it happens (the CLI prints it). */
  onStep?: (step: JourneyStep) => void;
}

export interface JourneyStep {
  /** Milliseconds since the document was submitted. */
  ms: number;
  what: 'signed' | 'sent' | 'routed' | 'delivered' | 'receipt';
  organId: string;
  detail: string;
}

export interface DemoResult {
  prefix: string;
  documents: Array<{
    packetId: string;
    documentId: string;
    from: string;
    recipients: Array<{ organId: string; status: string; at: string }>;
  }>;
  steps: JourneyStep[];
}

export function devPath(...parts: string[]): string {
  return join(DEV_CERTS, ...parts);
}

function trust(): HubConfig['trust'] {
  return { anchors: [devPath('root-ca.pem')], intermediates: [devPath('issuing-ca.pem')], crls: [devPath('issuing-ca.crl.pem')] };
}

function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  if (!existsSync(devPath('root-ca.pem'))) throw new Error(`the development certificates are missing in ${DEV_CERTS}; run "lienthong certs init"`);
  const env = options.env ?? process.env;
  const amqpUrl = options.amqpUrl ?? env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const prefix = options.prefix ?? `lt-demo-${randomBytes(3).toString('hex')}`;
  const names = resourceNames(prefix);
  const log = options.log ?? silentLogger();
  const management: ManagementOptions = {
    url: options.management?.url ?? env.LT_MANAGEMENT_URL ?? DEFAULT_MANAGEMENT_URL,
    user: options.management?.user ?? env.LT_MANAGEMENT_USER ?? 'guest',
    password: options.management?.password ?? env.LT_MANAGEMENT_PASSWORD ?? 'guest',
    vhost: options.management?.vhost ?? vhostOf(amqpUrl),
  };
  const api = new ManagementClient(management);

  // Fail early, with the hint, when there is no broker at all.
  const probe = await BrokerConnection.connect(amqpUrl, { name: 'lienthong demo probe', initialRetries: 2 });
  await probe.close();
  await api.overview();

  const dir = mkdtempSync(join(tmpdir(), 'lienthong-demo-'));
  const steps: JourneyStep[] = [];
  let t0 = 0;
  const step = (what: JourneyStep['what'], organId: string, detail: string): void => {
    const s = { ms: Math.round(performance.now() - t0), what, organId, detail };
    steps.push(s);
    options.onStep?.(s);
  };

  const hubConfig: HubConfig = {
    organId: DEMO_HUB.organId,
    organName: DEMO_HUB.organName,
    amqpUrl,
    prefix,
    management,
    dataDir: join(dir, 'hub'),
    identity: { key: devPath('hub.key.pem'), cert: devPath('hub.pem'), chain: devPath('issuing-ca.pem') },
    trust: trust(),
    maxPacketBytes: 32 * 1024 * 1024,
    cryptoThreads: 1,
    concurrency: 8,
    synchronous: 'normal',
  };
  const hub = new Hub(hubConfig, {
    log,
    onRouted: (o: RouteOutcome) => {
      if (o.kind === 'document' && o.verdict === 'routed') step('routed', DEMO_HUB.organId, `verified and routed to ${o.delivered.join(', ')}`);
    },
  });
  const edges: Edge[] = [];
  try {
    await hub.start();
    for (const agency of DEMO_AGENCIES) {
      const { password } = await addAgency({ db: hub.db, api, names, actor: 'demo' }, { organId: agency.organId, name: agency.organName });
      const config: EdgeConfig = {
        amqpUrl: withCredentials(amqpUrl, names.agencyUser(agency.organId), password),
        prefix,
        organId: agency.organId,
        organization: { organId: agency.organId, organName: agency.organName },
        hubOrganId: DEMO_HUB.organId,
        brokerUser: names.agencyUser(agency.organId),
        dataDir: join(dir, agency.organId),
        identity: { key: devPath('agencies', `${agency.organId}.key.pem`), cert: devPath('agencies', `${agency.organId}.pem`), chain: devPath('issuing-ca.pem') },
        trust: trust(),
        maxPacketBytes: 32 * 1024 * 1024,
        cryptoThreads: 1,
        concurrency: 4,
        synchronous: 'normal',
      };
      const edge = new Edge(config, {
        log,
        onReceived: (e: InboxEvent) => {
          if (e.type === 'document') step('delivered', agency.organId, e.accepted ? 'signature verified, stored, 01 queued' : `rejected (${e.errorCode})`);
          if (e.type === 'status') step('receipt', agency.organId, `status ${e.statusCode} from ${e.from}`);
        },
        onSent: (rows) => {
          for (const row of rows) if (row.kind === 'document') step('sent', agency.organId, `published to ${names.submit} (${row.lane} lane), confirmed by the broker`);
        },
      });
      edges.push(edge);
      await edge.start();
    }

    const [sender, ...recipients] = edges as [Edge, ...Edge[]];
    t0 = performance.now();
    const submitted = await sender.outbox.submitDocument(
      {
        to: recipients.map((e) => e.config.organization),
        code: { codeNumber: '125', codeNotation: 'UBND-VP' },
        promulgationInfo: { place: 'Cà Mau' },
        subject: 'V/v triển khai gửi, nhận văn bản điện tử qua trục liên thông của tỉnh (demo)',
        signerInfo: { competence: 'KT. CHÁNH VĂN PHÒNG', position: 'Phó Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
        attachments: [{ name: 'cong-van-125.txt', content: Buffer.from('Công văn số 125/UBND-VP — tệp đính kèm mẫu (demo).\n', 'utf8') }],
      },
      'demo',
    );
    step('signed', sender.config.organId, `DocumentId ${submitted.documentId}, packet ${submitted.packetId}, signed and queued in the outbox`);

    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const done = (): boolean => {
      const view = sender.document(submitted.documentId);
      return view !== undefined && view.deliveries.every((d) => d.stage === '01');
    };
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const view = sender.document(submitted.documentId);
    const recipientsState = (view?.deliveries ?? []).map((d) => ({ organId: d.recipient, status: d.stage, at: d.updatedAt }));
    if (!done()) {
      throw new Error(`the receipts did not all arrive within ${(options.timeoutMs ?? 30_000) / 1000} s: ${JSON.stringify(recipientsState)}`);
    }
    return {
      prefix,
      documents: [{ packetId: submitted.packetId, documentId: submitted.documentId, from: sender.config.organId, recipients: recipientsState }],
      steps,
    };
  } finally {
    for (const edge of edges) await edge.stop().catch(() => {});
    await hub.stop().catch(() => {});
    await deleteDeployment(api, names).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
