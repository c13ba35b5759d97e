import { basename } from 'node:path';
import { buildPacket, composeDocument, validatePacket, type DocumentInput } from '../../envelope/index.js';
import { LtError } from '../../errors.js';
import { EXIT_OK, parseCommandArgs, reportError, requireOption, type Command } from '../command.js';
import { readInput, readJsonFile, writeOutput } from '../../files.js';

export const buildCommand: Command = {
  name: 'build',
  summary: 'Build an unsigned edXML document packet from JSON metadata',
  help: `Usage: lienthong build META.json [--attach FILE]... -o OUT.xml

Builds an edXML document packet from JSON metadata (the fields of the edXML MessageHeader in
camelCase: from, to, code, subject, ...; see README). Missing defaults are filled in: today's
promulgation date, the DocumentId, the sender's TraceHeader, a "new document" Bussiness block.
The packet is validated; errors stop the build (exit 1), warnings are printed to stderr.

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
      const meta = await readJsonFile<DocumentInput>(positionals[0] as string);
      const attachments = [];
      for (const file of values.attach ?? []) {
        attachments.push({ name: basename(file), content: await readInput(file) });
      }
      const now = new Date();
      const packet = composeDocument({ ...meta, attachments: [...(meta.attachments ?? []), ...attachments] }, now);
      const result = validatePacket(packet, { now });
      for (const w of result.warnings) io.stderr.write(`warning ${w.code} ${w.path}: ${w.message}\n`);
      if (!result.valid) {
        for (const e of result.errors) io.stderr.write(`error ${e.code} ${e.path}: ${e.message}\n`);
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
