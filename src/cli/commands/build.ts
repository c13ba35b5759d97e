import { buildPacket, composeDocument, validatePacket } from '../../envelope/index.js';
import { LtError } from '../../errors.js';
import { EXIT_OK, parseCommandArgs, reportError, requireOption, writeFindings, type Command } from '../command.js';
import { writeOutput } from '../../files.js';
import { readMetadataFile, requireSender } from '../metadata-file.js';

export const buildCommand: Command = {
  name: 'build',
  help: `Usage: lienthong build META.json [--attach FILE]... -o OUT.xml

Builds an edXML document packet from JSON metadata (the fields of the edXML MessageHeader in
camelCase: from, to, code, subject, ...; see README and schemas/api/document-input.json, the
schema the edge's REST API checks the same metadata with). Missing defaults are filled in:
today's promulgation date, the DocumentId, the sender's TraceHeader, a "new document" Bussiness
block. Metadata outside the schema, and a packet that breaks the edXML rules, stop the build
(exit 1, each finding on stderr); warnings are printed to stderr.

Options:
  --attach FILE   attach a file (repeatable); its name and content type come from the file
  -o, --out FILE  where to write the packet (required)
  -h, --help      this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        attach: { type: 'string', multiple: true },
        out: { type: 'string', short: 'o' },
      });
      if (positionals.length !== 1) throw new LtError('USAGE', 'give exactly one META.json file');
      const out = requireOption(values.out, '--out');
      const file = positionals[0] as string;
      const meta = requireSender(await readMetadataFile(file, values.attach), file);
      const now = new Date();
      const packet = composeDocument(meta, now);
      const result = validatePacket(packet, { now });
      writeFindings(io, result.warnings);
      if (!result.valid) {
        writeFindings(io, result.errors);
        throw new LtError('PACKET_INVALID', `the metadata does not make a valid packet (${result.errors.length} error(s) above); nothing was written`);
      }
      await writeOutput(out, buildPacket(packet));
      io.stderr.write(`wrote ${out} (DocumentId ${packet.documentId})\n`);
      return EXIT_OK;
    } catch (error) {
      return reportError(io, 'build', error);
    }
  },
};
