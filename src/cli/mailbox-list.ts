/**
 * `lienthong outbox` and `lienthong inbox`: an edge's documents of one direction, urgent first,
 * then the newest, each with where it stands with every recipient; read from the edge's database
 * without disturbing the running edge. The JSON is the REST API's list (GET /outbox, /inbox).
 */
import { LtError } from '../errors.js';
import { documentSummary, type DocumentListJson } from '../adapters/rest/views.js';
import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command } from './command.js';
import { withEdgeReader } from './edge-reader.js';
import { localTime, stageWords } from './display.js';

const WORDS = {
  out: { verb: 'outbox', box: 'outbox', party: 'to' },
  in: { verb: 'inbox', box: 'inbox', party: 'from' },
} as const;

export function mailboxCommand(direction: 'out' | 'in'): Command {
  const words = WORDS[direction];
  return {
    name: words.verb,
    help: `Usage: lienthong ${words.verb} --config edge.json [--search TEXT] [--stage STAGE] [--limit N] [--page N] [--json]

Lists the documents in the edge's ${words.box}, urgent ones first, then the newest: DocumentId,
number, time (Vietnamese time, UTC+7), subject, and ${direction === 'out' ? "each recipient's stage" : 'its stage here'}
(sent, delivered, bounced, 01 arrived, 02 returned, 03 accepted, 04 assigned, 05 processing,
06 completed). Reads the edge's database read-only: it works while the edge runs, and needs
neither an API key nor the broker. "lienthong show DOCUMENT_ID" tells the whole story of one.

Options:
  --config FILE    the edge configuration (required)
  --search TEXT    only documents whose subject, number or DocumentId contains TEXT
  --stage STAGE    only documents with a delivery at this stage (e.g. bounced, 01, 03)
  --limit N        at most N documents (default 50)
  --page N         the Nth page of --limit documents (default 1)
  --json           print {"total", "page", "pageSize", "items"} as the REST API's GET /${words.box}
  -h, --help       this help`,
    async run(argv, io) {
      try {
        const { values, positionals } = parseCommandArgs(argv, {
          config: { type: 'string', short: 'c' },
          search: { type: 'string' },
          stage: { type: 'string' },
          limit: { type: 'string' },
          page: { type: 'string' },
          json: { type: 'boolean' },
        });
        if (positionals.length !== 0) throw new LtError('USAGE', `"${words.verb}" takes no arguments; to see one document: lienthong show --config edge.json DOCUMENT_ID`);
        const pageSize = positiveInteger(values.limit, '--limit', 50);
        const page = positiveInteger(values.page, '--page', 1);
        return await withEdgeReader(values.config, io, (reader) => {
          const { total, items } = reader.records.listDocuments({
            direction,
            page,
            pageSize,
            ...(values.search ? { search: values.search } : {}),
            ...(values.stage ? { stage: values.stage } : {}),
          });
          const list: DocumentListJson = { total, page, pageSize, items: items.map((d) => documentSummary(d, reader.deliveries.all(d.documentId))) };
          if (values.json) {
            writeJson(io, list);
            return EXIT_OK;
          }
          const organ = reader.config.organId;
          if (total === 0) {
            io.stdout.write(`${words.box} of ${organ}: no documents${values.search || values.stage ? ' match' : ''}\n`);
            return EXIT_OK;
          }
          const shown = list.items.length;
          io.stdout.write(`${words.box} of ${organ}: ${total} document(s)${shown < total ? `, ${(page - 1) * pageSize + 1}-${(page - 1) * pageSize + shown} shown` : ''}; times UTC+7\n`);
          for (const d of list.items) {
            io.stdout.write(`\n${d.documentId}${d.urgent ? `  [urgent, priority ${d.priority}]` : ''}\n`);
            io.stdout.write(`  ${localTime(d.createdAt)}  ${d.code ?? '(no number)'}  ${d.subject ?? '(no subject)'}\n`);
            if (direction === 'in') io.stdout.write(`  from ${d.sender}\n`);
            for (const delivery of d.deliveries) {
              io.stdout.write(`  ${direction === 'out' ? `to ${delivery.recipient}: ` : 'here: '}${stageWords(delivery.stage)}${delivery.recall !== 'none' ? `, recall ${delivery.recall}` : ''} (${localTime(delivery.updatedAt)})\n`);
            }
          }
          return EXIT_OK;
        });
      } catch (error) {
        return reportError(io, words.verb, error);
      }
    },
  };
}

function positiveInteger(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new LtError('USAGE', `${flag} must be a whole number of at least 1, not "${value}"`);
  return n;
}
