/**
 * `lienthong show DOCUMENT_ID`: the whole story of one document at this edge, read from its
 * database while it runs: the metadata, where it stands with every recipient, the timeline
 * (bounces and returns with their reasons, the hub's hop), and every packet signed or received
 * for it. The JSON is the REST API's document view with the packets added.
 */
import { documentView } from '../../adapters/rest/views.js';
import { LtError } from '../../errors.js';
import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command, type Io } from '../command.js';
import { withEdgeReader, type ReceivedPacketRow, type SentPacketRow } from '../edge-reader.js';
import { localTime, stageWords } from '../display.js';
import type { TimelineEvent } from '../../store/deliveries.js';

export const showCommand: Command = {
  name: 'show',
  help: `Usage: lienthong show --config edge.json DOCUMENT_ID [--json]

Everything this edge knows about one document it sent or received: its metadata and
attachments; where it stands with each recipient; its timeline (sent, routed by the hub,
arrived 01, accepted 03 ... , bounced or returned 02 with the reason, recalls 13/15/16); and
every packet signed or received for it, with the hub that routed it, when and on which lane.
Times are Vietnamese (UTC+7). Reads the edge's database read-only: it works while the edge runs,
and needs neither an API key nor the broker. "lienthong outbox" and "lienthong inbox" list the
DocumentIds (quote them: they contain commas and a slash).

Options:
  --config FILE   the edge configuration (required)
  --json          print the REST API's document view (GET /api/v1/documents/{id}) with "packets":
                  {"sent": [...], "received": [...]}
  -h, --help      this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
      });
      if (positionals.length !== 1) throw new LtError('USAGE', 'give one DOCUMENT_ID (lienthong outbox / inbox list them)');
      const documentId = positionals[0] as string;
      return await withEdgeReader(values.config, io, (reader) => {
        const document = reader.records.document(documentId);
        if (!document) {
          throw new LtError('NOT_FOUND', `no document ${documentId} in the outbox or inbox of ${reader.config.organId}; list them with "lienthong outbox" or "lienthong inbox"`, {
            documentId,
          });
        }
        const view = documentView({
          document,
          deliveries: reader.deliveries.all(documentId),
          timeline: reader.deliveries.timeline(documentId),
          attachments: reader.records.attachments(documentId),
        });
        const packets = reader.packets(documentId);
        if (values.json) writeJson(io, { ...view, packets });
        else writeStory(io, view, packets);
        return EXIT_OK;
      });
    } catch (error) {
      return reportError(io, 'show', error);
    }
  },
};

type View = ReturnType<typeof documentView>;

function writeStory(io: Io, d: View, packets: { sent: SentPacketRow[]; received: ReceivedPacketRow[] }): void {
  const line = (text = ''): void => void io.stdout.write(`${text}\n`);
  const field = (name: string, value: string | null | undefined): void => {
    if (value !== null && value !== undefined && value !== '') line(`  ${`${name}:`.padEnd(14)}${value}`);
  };
  line(`${d.documentId} (${d.direction === 'out' ? 'sent by this agency' : `received from ${d.sender}`}); times UTC+7`);
  field('Subject', d.subject);
  field('Number', d.code);
  field('From', d.sender);
  field('Priority', `${d.priority}${d.urgent ? ' (urgent lane)' : ''}`);
  field('Promulgated', d.promulgationDate);
  field('Due', d.dueDate);
  field('Business', d.bussinessType && d.bussinessType !== '0' ? `${d.bussinessType} of ${d.relatedDocument ?? '?'}` : null);
  field('Answers', d.responseFor);
  field('Superseded by', d.supersededBy);
  field('Paper copy', d.paper ? 'yes' : null);
  field('Assigned', d.assignment ? [d.assignment.unit, d.assignment.person].filter(Boolean).join(', ') + ` (${d.assignment.role})` : null);
  field('Refused', d.error ? `${d.error.code}${d.error.message ? `: ${d.error.message}` : ''}` : null);
  field('Recorded', localTime(d.createdAt));
  for (const a of d.attachments) field('Attachment', `${a.name ?? a.contentId} (${a.contentType ?? 'no type'}, ${a.size} bytes)`);

  line();
  line(d.direction === 'out' ? 'Recipients' : 'Here');
  for (const r of d.deliveries) {
    line(`  ${r.recipient.padEnd(16)}${stageWords(r.stage)}${r.recall !== 'none' ? `, recall ${r.recall}` : ''}  (${localTime(r.updatedAt)})`);
  }

  line();
  line('Timeline');
  for (const e of d.timeline) line(`  ${localTime(e.at)}  ${e.recipient.padEnd(16)}${eventWords(e)}`);

  line();
  line('Packets');
  for (const p of packets.sent) {
    const what = p.kind === 'document' ? 'document' : `status ${p.statusCode ?? '?'}`;
    const state = p.sentAt ? `published ${localTime(p.sentAt)}` : `waiting to be published${p.attempts > 0 ? ` (${p.attempts} attempt(s), last error: ${p.lastError ?? 'none'})` : ' (is "lienthong edge" running?)'}`;
    line(`  signed    ${p.packetId}  ${what} to ${p.recipients.join(', ')}, ${p.lane} lane, ${localTime(p.createdAt)}; ${state}`);
  }
  for (const p of packets.received) {
    const event = d.timeline.find((e) => e.packetId === p.packetId);
    const what = p.kind === 'document' ? 'document' : `status${event ? ` ${event.event}` : ''}`;
    const hop = p.hop ? `; routed by hub ${p.hop.hub}${p.hop.routedAt ? ` at ${localTime(p.hop.routedAt)}` : ''}${p.hop.lane ? ` (${p.hop.lane} lane)` : ''}` : '';
    line(`  received  ${p.packetId}  ${what} from ${p.sender ?? '(unknown)'}, ${localTime(p.receivedAt)}, ${p.verdict}${p.errorCode ? ` (${p.errorCode})` : ''}${hop}`);
  }
}

function eventWords(e: TimelineEvent): string {
  const name = /^\d\d$/.test(e.event) ? `${e.event} ${EVENT_NAMES[e.event] ?? ''}`.trim() : e.event;
  return e.description ? `${name}: ${e.description}` : name;
}

const EVENT_NAMES: Record<string, string> = {
  '01': 'arrived',
  '02': 'returned',
  '03': 'accepted',
  '04': 'assigned',
  '05': 'processing',
  '06': 'completed',
  '13': 'recall requested',
  '15': 'recalled',
  '16': 'recall refused',
};
