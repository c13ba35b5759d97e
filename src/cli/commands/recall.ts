import { EXIT_OK, parseCommandArgs, reportError, requireOption, writeJson, type Command } from '../command.js';
import { LtError } from '../../errors.js';
import { withOpenEdge } from '../open-node.js';

export const recallCommand: Command = {
  name: 'recall',
  help: `Usage: lienthong recall --config edge.json DOCUMENT_ID --reason TEXT [--recipient ORGAN_ID]... [--json]

Queues a signed status 13 with the reason for each recipient (all by default), on the urgent
lane. Each recipient's edge marks the document recalled and answers 15, or 16 with a reason
(for instance when it has already completed it); the answers show in the document's timeline.
Refused, with nothing sent, when a recipient cannot be recalled from (returned, bounced,
already recalled).

Options:
  --config FILE       the edge configuration (required)
  --reason TEXT       why the document is recalled (required)
  --recipient ID      recall from this recipient only (repeatable)
  --json              print {"packetIds"}
  -h, --help          this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        reason: { type: 'string' },
        recipient: { type: 'string', multiple: true },
        json: { type: 'boolean' },
      });
      if (positionals.length !== 1) throw new LtError('USAGE', 'give one DOCUMENT_ID');
      return await withOpenEdge(values.config, io, async (edge) => {
        const result = await edge.lifecycle.recall(positionals[0] as string, {
          reason: requireOption(values.reason, '--reason'),
          client: 'cli',
          ...(values.recipient ? { recipients: values.recipient } : {}),
        });
        if (values.json) writeJson(io, result);
        else io.stdout.write(`recall (13) queued for ${result.recipients.join(', ')} (${positionals[0]})\n`);
        return EXIT_OK;
      });
    } catch (error) {
      return reportError(io, 'recall', error);
    }
  },
};
