import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { withHubDatabase, withOpenEdge } from '../open-node.js';
import { LtError } from '../../errors.js';

export const overdueCommand: Command = {
  name: 'overdue',
  summary: 'List what is late (receipts, processing past DueDate, late issues) or must go on paper',
  help: `Usage: lienthong overdue --config edge.json [--paper] [--at ISO-TIME] [--json]
       lienthong overdue --hub --config hub.json [--at ISO-TIME] [--json]

With an edge configuration: this agency's late items: receipts (status 01) not given by the end
of the working day of arrival (urgent documents: within urgentReceiptMinutes), documents not
completed by their DueDate, documents issued later than the working day after signing.
--paper lists instead the recipients the văn thư must send a paper copy to (Paper = 1, or
not connected to the exchange).
With --hub and the hub configuration: the same per agency across the province.

Options:
  --config FILE   the edge (or, with --hub, the hub) configuration (required)
  --hub           read the hub's records
  --paper         the "send on paper" list instead (edge)
  --at TIME       judge as of this time instead of now
  --json          machine-readable output
  -h, --help      this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        hub: { type: 'boolean' },
        paper: { type: 'boolean' },
        at: { type: 'string' },
        json: { type: 'boolean' },
      });
      if (positionals.length > 0) throw new LtError('USAGE', `unexpected argument "${positionals[0]}"`);
      const now = values.at ? new Date(values.at) : new Date();
      if (Number.isNaN(now.getTime())) throw new LtError('USAGE', '--at must be an ISO date-time, e.g. 2026-11-25T17:00:00+07:00');
      const { workingCalendar } = await import('../../envelope/calendar.js');
      if (values.hub) {
        const { hubOverdue } = await import('../../hub/overdue.js');
        return await withHubDatabase(values.config, io, async (db, hub) => {
          const agencies = hubOverdue(db, workingCalendar(hub.calendar), now, hub.urgentReceiptMinutes);
          if (values.json) writeJson(io, { at: now.toISOString(), agencies });
          else for (const a of agencies) io.stdout.write(`${a.organId}  receipts overdue ${a.receipts}, processing overdue ${a.processing}\n`);
          return EXIT_OK;
        });
      }
      return await withOpenEdge(values.config, io, async (edge) => {
        if (values.paper) {
          const items = edge.lifecycle.paper();
          if (values.json) writeJson(io, { items });
          else for (const i of items) io.stdout.write(`${i.documentId}  → ${i.recipient}: ${i.reason}\n`);
        } else {
          const items = edge.lifecycle.overdue(now);
          if (values.json) writeJson(io, { at: now.toISOString(), items });
          else for (const i of items) io.stdout.write(`${i.kind.padEnd(10)} ${i.organId}  ${i.documentId}  due ${i.due}  (${i.stage})\n`);
        }
        return EXIT_OK;
      });
    } catch (error) {
      return reportError(io, 'overdue', error);
    }
  },
};
