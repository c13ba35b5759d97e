import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { withOpenEdge } from '../open-node.js';
import { LtError } from '../../errors.js';
import type { RecipientCode } from '../../edge/lifecycle.js';

const CODES: readonly RecipientCode[] = ['02', '03', '04', '05', '06', '15', '16'];

export const statusCommand: Command = {
  name: 'status',
  help: `Usage: lienthong status --config edge.json DOCUMENT_ID CODE [--reason TEXT] [--unit U] [--person P] [--role main|co|info] [--json]

Records the action in the edge's database and queues the signed status packet for the sender
(the running edge sends it). The action is checked against the status rules first: 06 before
03, anything after 02, or any action on a recalled document is refused and nothing is sent.

  03  accepted and registered in the incoming book (đã tiếp nhận)
  04  assigned to a unit or person (phân công): --unit and/or --person, --role (default main)
  05  being processed (đang xử lý)
  06  completed (hoàn thành)
  02  returned to the sender (từ chối), --reason required
  15  agree to a recall (đồng ý thu hồi)        16  refuse a recall, --reason required

Options:
  --config FILE   the edge configuration (required)
  --reason TEXT   the reason or a note (Description)
  --unit, --person, --role   the assignment (04)
  --json          print {"packetId", "state"}
  -h, --help      this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        reason: { type: 'string' },
        unit: { type: 'string' },
        person: { type: 'string' },
        role: { type: 'string' },
        json: { type: 'boolean' },
      });
      const [documentId, code] = positionals;
      if (!documentId || !code || positionals.length !== 2) throw new LtError('USAGE', 'give DOCUMENT_ID and CODE');
      if (!CODES.includes(code as RecipientCode)) throw new LtError('USAGE', `CODE is one of ${CODES.join(', ')}`);
      if (values.role && !['main', 'co', 'info'].includes(values.role)) throw new LtError('USAGE', '--role is main, co or info');
      return await withOpenEdge(values.config, io, async (edge) => {
        const result = await edge.lifecycle.act(documentId, {
          code: code as RecipientCode,
          client: 'cli',
          ...(values.reason ? { description: values.reason } : {}),
          ...(values.unit || values.person
            ? { assignment: { ...(values.unit ? { unit: values.unit } : {}), ...(values.person ? { person: values.person } : {}), role: (values.role ?? 'main') as 'main' } }
            : {}),
        });
        if (values.json) writeJson(io, result);
        else io.stdout.write(`status ${code} queued for ${documentId} (packet ${result.packetId}); now ${result.state.stage}${result.state.recall !== 'none' ? `, recall ${result.state.recall}` : ''}\n`);
        return EXIT_OK;
      });
    } catch (error) {
      return reportError(io, 'status', error);
    }
  },
};
