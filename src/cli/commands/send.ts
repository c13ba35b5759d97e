import { basename } from 'node:path';
import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { withOpenEdge } from '../open-node.js';
import { LtError } from '../../errors.js';
import { readInput, readJsonFile } from '../../files.js';
import type { DocumentInput } from '../../envelope/compose.js';

export const sendCommand: Command = {
  name: 'send',
  summary: "Submit a document to an edge's outbox (signed now, sent by the running edge)",
  help: `Usage: lienthong send --config edge.json META.json [--attach FILE]... [--json]
       lienthong send --config edge.json --packet UNSIGNED.xml [--json]

Validates the document, signs it with the agency certificate and writes it to the edge's
outbox in one transaction; prints the packet id and DocumentId. The running edge
("lienthong edge") publishes it within a second. META.json is the metadata of
"lienthong build" ("from" may be omitted: it is the edge's agency).

Options:
  --config FILE    the edge configuration (required)
  --attach FILE    attach a file (repeatable)
  --packet FILE    submit a ready, unsigned edXML document packet instead of metadata
  --json           print {"packetId", "documentId", "lane", "warnings"}
  -h, --help       this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        attach: { type: 'string', multiple: true },
        packet: { type: 'string' },
        json: { type: 'boolean' },
      });
      if (values.packet ? positionals.length !== 0 : positionals.length !== 1) {
        throw new LtError('USAGE', 'give one META.json, or --packet FILE');
      }
      return await withOpenEdge(values.config, io, async (edge) => {
        let submitted;
        if (values.packet) {
          submitted = await edge.outbox.submitXml(await readInput(values.packet), 'cli');
        } else {
          const meta = await readJsonFile<DocumentInput>(positionals[0] as string);
          const attachments = [...(meta.attachments ?? [])];
          for (const file of values.attach ?? []) attachments.push({ name: basename(file), content: await readInput(file) });
          submitted = await edge.outbox.submitDocument({ ...meta, attachments }, 'cli');
        }
        if (values.json) writeJson(io, submitted);
        else {
          for (const w of submitted.warnings) io.stderr.write(`warning ${w.code} ${w.path}: ${w.message}\n`);
          io.stdout.write(`queued ${submitted.documentId} as packet ${submitted.packetId} (${submitted.lane} lane)\n`);
        }
        return EXIT_OK;
      });
    } catch (error) {
      return reportError(io, 'send', error);
    }
  },
};
