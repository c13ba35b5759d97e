import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { withOpenEdge } from '../open-node.js';
import { LtError } from '../../errors.js';
import { readInput } from '../../files.js';
import { readMetadataFile } from '../metadata-file.js';
import { awaitAnswers, notReceived } from '../recipient-answers.js';
import { localTime, stageWords } from '../display.js';

export const sendCommand: Command = {
  name: 'send',
  help: `Usage: lienthong send --config edge.json META.json [--attach FILE]... [--wait [--timeout S]] [--json]
       lienthong send --config edge.json --packet PACKET.xml [--wait [--timeout S]] [--json]

Validates the document, signs it with the agency certificate and writes it to the edge's
outbox in one transaction; prints the packet id and DocumentId. The running edge
("lienthong edge") publishes it within a second. META.json is the metadata of
"lienthong build" ("from" may be omitted: it is the edge's agency), checked against the schema
of the REST API's metadata (schemas/api/document-input.json) and then the edXML rules: what
either refuses is printed, finding by finding, and nothing is queued (exit 1).

A ready edXML packet (--packet) may be unsigned (the edge signs it) or already signed with the
agency's certificate (by the agency's own software or a signing device): it is then verified as
strictly as a received packet (signature, chain, revocation, the certificate's organ id = From =
this edge's agency, signing time not in the future nor older than the hub accepts) and queued
byte for byte, never signed again. What fails is printed with its code (SIG_*, CERT_*,
SENDER_MISMATCH) and nothing is queued (exit 1).

With --wait it then follows the document until every recipient has answered: arrived (01), or
bounced by the hub, or returned (02), printing each answer with the reason; exit 1 when a
recipient did not get it (NOT_DELIVERED) or did not answer in time (ANSWER_TIMEOUT: the document
is not lost, "lienthong show" follows it further).

Options:
  --config FILE    the edge configuration (required)
  --attach FILE    attach a file (repeatable)
  --packet FILE    submit a ready edXML document packet (unsigned, or signed by the agency) instead of metadata
  --wait           wait for every recipient's answer (needs the running edges and hub)
  --timeout S      how long --wait waits, in seconds (default 60)
  --json           print {"packetId", "documentId", "lane", "warnings"} (with --wait, and "answers":
                   [{"recipient", "stage", "at", "reason"}])
  -h, --help       this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        attach: { type: 'string', multiple: true },
        packet: { type: 'string' },
        json: { type: 'boolean' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
      });
      const timeoutSeconds = values.timeout === undefined ? 60 : Number(values.timeout);
      if (!(timeoutSeconds > 0)) throw new LtError('USAGE', `--timeout is a number of seconds, not "${values.timeout}"`);
      if (values.timeout !== undefined && !values.wait) throw new LtError('USAGE', '--timeout goes with --wait');
      if (values.packet ? positionals.length !== 0 : positionals.length !== 1) {
        throw new LtError('USAGE', 'give one META.json, or --packet FILE');
      }
      // The input is read and checked before the edge is opened: a bad file costs no key loading.
      const packet = values.packet !== undefined ? await readInput(values.packet) : undefined;
      const metadata = packet ? undefined : await readMetadataFile(positionals[0] as string, values.attach);
      return await withOpenEdge(values.config, io, async (edge) => {
        const submitted = metadata ? await edge.outbox.submitDocument(metadata, 'cli') : await edge.outbox.submitXml(packet as Buffer, 'cli');
        if (!values.json) {
          for (const w of submitted.warnings) io.stderr.write(`warning ${w.code} ${w.path}: ${w.message}\n`);
          io.stdout.write(`queued ${submitted.documentId} as packet ${submitted.packetId} (${submitted.lane} lane)\n`);
        }
        if (!values.wait) {
          if (values.json) writeJson(io, submitted);
          return EXIT_OK;
        }
        const answers = await awaitAnswers(edge, submitted.documentId, timeoutSeconds * 1000, (a) => {
          if (!values.json) io.stdout.write(`  ${a.recipient}: ${stageWords(a.stage)} at ${localTime(a.at)} (UTC+7)${a.reason ? `: ${a.reason}` : ''}\n`);
        });
        if (values.json) writeJson(io, { ...submitted, answers });
        const missed = notReceived(answers);
        if (missed.length > 0) {
          throw new LtError('NOT_DELIVERED', `${missed.map((a) => `${a.recipient} (${stageWords(a.stage)})`).join(', ')} did not get ${submitted.documentId}; the reasons are above and in "lienthong show"`, {
            documentId: submitted.documentId,
          });
        }
        return EXIT_OK;
      });
    } catch (error) {
      return reportError(io, 'send', error);
    }
  },
};
