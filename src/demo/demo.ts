/**
 * `lienthong demo`: a hub and three edges in one process against a real RabbitMQ, provisioned
 * with the development certificates, exchanging one signed document with an attachment. It
 * runs under a fresh broker prefix and a temporary directory, and removes both afterwards.
 */
import type { ManagementOptions } from '../broker/management.js';
import type { Edge } from '../edge/edge.js';
import type { InboxEvent } from '../edge/inbox.js';
import type { RouteOutcome } from '../hub/router.js';
import type { Logger } from '../log.js';
import { DEV_HUB, startLocalExchange } from './local-exchange.js';

export const DEMO_HUB = DEV_HUB;
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

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const steps: JourneyStep[] = [];
  let t0 = performance.now();
  const step = (what: JourneyStep['what'], organId: string, detail: string): void => {
    const s = { ms: Math.round(performance.now() - t0), what, organId, detail };
    steps.push(s);
    options.onStep?.(s);
  };
  const exchange = await startLocalExchange({
    ...(options.env ? { env: options.env } : {}),
    ...(options.amqpUrl ? { amqpUrl: options.amqpUrl } : {}),
    ...(options.management ? { management: options.management } : {}),
    ...(options.log ? { log: options.log } : {}),
    prefix: options.prefix ?? undefined,
    prefixBase: 'lt-demo',
    hubOptions: {
      onRouted: (o: RouteOutcome) => {
        if (o.kind === 'document' && o.verdict === 'routed') step('routed', DEMO_HUB.organId, `verified and routed to ${o.delivered.join(', ')}`);
      },
    },
    agencies: DEMO_AGENCIES.map((agency) => ({
      ...agency,
      edgeOptions: {
        onReceived: (e: InboxEvent) => {
          if (e.type === 'document') step('delivered', agency.organId, e.accepted ? 'signature verified, stored, 01 queued' : `rejected (${e.errorCode})`);
          if (e.type === 'status') step('receipt', agency.organId, `status ${e.statusCode} from ${e.from}`);
        },
        onSent: (rows) => {
          for (const row of rows) if (row.kind === 'document') step('sent', agency.organId, `published to the submit exchange (${row.lane} lane), confirmed by the broker`);
        },
      },
    })),
  });
  try {
    const [sender, ...recipients] = DEMO_AGENCIES.map((a) => exchange.edge(a.organId)) as [Edge, ...Edge[]];
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
      prefix: exchange.prefix,
      documents: [{ packetId: submitted.packetId, documentId: submitted.documentId, from: sender.config.organId, recipients: recipientsState }],
      steps,
    };
  } finally {
    await exchange.stop();
  }
}
