import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { LtError } from '../../errors.js';

const WHAT: Record<string, string> = { signed: 'signed', sent: 'sent', routed: 'routed', delivered: 'delivered', receipt: 'receipt' };

export const demoCommand: Command = {
  name: 'demo',
  help: `Usage: lienthong demo [--json]

Starts a hub and three agency edges in this process against the RabbitMQ at AMQP_URL
(default amqp://guest:guest@127.0.0.1:5672, management API at LT_MANAGEMENT_URL, default
http://127.0.0.1:15672), provisions the agencies with the development certificates of
certs-dev/, sends one signed document with an attachment from the provincial office to two
agencies, prints its journey with timings, then stops and deletes everything it created.

Options:
  --json      print {"documents": [{"packetId", "documentId", "from", "recipients": [{"organId", "status", "at"}]}]}
  -h, --help  this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
      if (positionals.length > 0) throw new LtError('USAGE', `unexpected argument "${positionals[0]}"`);
      const { runDemo, DEMO_AGENCIES, DEMO_HUB } = await import('../../demo/demo.js');
      if (!values.json) {
        io.stdout.write(`hub ${DEMO_HUB.organId} and edges ${DEMO_AGENCIES.map((a) => a.organId).join(', ')} starting...\n`);
      }
      const result = await runDemo({
        env: io.env,
        onStep: (s) => {
          if (!values.json) io.stdout.write(`${String(s.ms).padStart(6)} ms  ${WHAT[s.what]?.padEnd(9)} ${s.organId}  ${s.detail}\n`);
        },
      });
      if (values.json) {
        writeJson(io, { documents: result.documents });
      } else {
        const doc = result.documents[0];
        if (doc) {
          io.stdout.write(`\nDocument ${doc.documentId} (packet ${doc.packetId}) from ${doc.from}:\n`);
          for (const r of doc.recipients) io.stdout.write(`  ${r.organId}  status ${r.status}  at ${r.at}\n`);
        }
        io.stdout.write(`Stopped; broker resources under prefix "${result.prefix}" and temporary files deleted.\n`);
      }
      return EXIT_OK;
    } catch (error) {
      return reportError(io, 'demo', error);
    }
  },
};
