import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { withHubDatabase, withOpenEdge } from '../open-node.js';
import { LtError } from '../../errors.js';
import type { OverdueItem } from '../../edge/lifecycle.js';
import type { AgencyOverdue, HubOverdueItem } from '../../hub/overdue.js';

/**
 * The lines a văn thư or an operator reads, in Vietnamese (the dashboard's catalogue), with due
 * times in the province's local time and its offset printed beside them; JSON keeps the UTC
 * instant in "due" and adds "dueLocal".
 */
async function overdueText() {
  const { formatZonedTime, isoLocal } = await import('../../dashboard/format.js');
  const { hasMessage, translator } = await import('../../dashboard/i18n.js');
  const t = translator('vi');
  const stage = (code: string): string => {
    const key = `stage.${code}`;
    return hasMessage(key) ? t(key) : code;
  };
  return {
    t,
    none: (now: Date): string => t('overdue.none', { at: formatZonedTime(now.toISOString()) }),
    agency: (a: AgencyOverdue): string => t('overdue.agency', { organId: a.organId, receipts: a.receipts, acceptances: a.acceptances, processing: a.processing }),
    item: (i: OverdueItem | HubOverdueItem): string =>
      [
        t(`overdue.${i.kind}`).padEnd(22),
        'direction' in i ? `${t(`overdue.direction.${i.direction}`)} ` : '',
        `${i.organId}  ${i.documentId}  ${t('overdue.due', { due: formatZonedTime(i.due) })}  (${t('overdue.stage', { stage: stage(i.stage) })})`,
      ].join(''),
    withLocalDue: <T extends { due: string }>(i: T): T & { dueLocal: string } => ({ ...i, dueLocal: isoLocal(i.due) }),
  };
}

export const overdueCommand: Command = {
  name: 'overdue',
  help: `Usage: lienthong overdue --config edge.json [--paper] [--at ISO-TIME] [--json]
       lienthong overdue --hub --config hub.json [--at ISO-TIME] [--json]

With an edge configuration: this agency's late items: receipts (status 01) not given by the end
of the working day of arrival (urgent documents: within urgentReceiptMinutes), documents not
completed by their DueDate, documents issued later than the working day after signing.
--paper lists instead the recipients the văn thư must send a paper copy to (Paper = 1, or
not connected to the exchange).
With --hub and the hub configuration: the same per agency across the province (receipts,
acceptances by the văn thư (03) and processing; the same deadlines as the edges).
The lines are in Vietnamese, due times in Vietnamese local time (+07:00); a line says so when
nothing is overdue. --json gives "due" in UTC and "dueLocal" with the +07:00 offset.

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
      const text = await overdueText();
      if (values.hub) {
        const { hubOverdue } = await import('../../hub/overdue.js');
        return await withHubDatabase(values.config, io, async (db, hub) => {
          const agencies = hubOverdue(db, workingCalendar(hub.calendar), now, hub.urgentReceiptMinutes);
          if (values.json) writeJson(io, { at: now.toISOString(), agencies: agencies.map((a) => ({ ...a, items: a.items.map(text.withLocalDue) })) });
          else if (agencies.length === 0) io.stdout.write(`${text.none(now)}\n`);
          else {
            for (const a of agencies) {
              io.stdout.write(`${text.agency(a)}\n`);
              for (const i of a.items) io.stdout.write(`  ${text.item(i)}\n`);
            }
          }
          return EXIT_OK;
        });
      }
      return await withOpenEdge(values.config, io, async (edge) => {
        if (values.paper) {
          const items = edge.lifecycle.paper();
          if (values.json) writeJson(io, { items });
          else if (items.length === 0) io.stdout.write(`${text.t('overdue.paperNone')}\n`);
          else for (const i of items) io.stdout.write(`${i.documentId}  → ${i.recipient}: ${i.reason}\n`);
        } else {
          const items = edge.lifecycle.overdue(now);
          if (values.json) writeJson(io, { at: now.toISOString(), items: items.map(text.withLocalDue) });
          else if (items.length === 0) io.stdout.write(`${text.none(now)}\n`);
          else for (const i of items) io.stdout.write(`${text.item(i)}\n`);
        }
        return EXIT_OK;
      });
    } catch (error) {
      return reportError(io, 'overdue', error);
    }
  },
};
