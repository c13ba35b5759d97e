import { parsePacket, validatePacket, type Finding } from '../../envelope/index.js';
import { asLtError, LtError } from '../../errors.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { readInput } from '../../files.js';
import { PACKET_LIMIT_HELP, PACKET_LIMIT_HINT, PACKET_LIMIT_OPTIONS, packetLimits } from '../packet-limit.js';

interface FileReport {
  file: string;
  kind: 'document' | 'status' | null;
  valid: boolean;
  errors: Array<{ code: string; path: string; message: string }>;
  warnings: Array<{ code: string; path: string; message: string }>;
}

const plain = ({ code, path, message }: Finding | { code: string; path: string; message: string }) => ({ code, path, message });

export const validateCommand: Command = {
  name: 'validate',
  help: `Usage: lienthong validate FILE... [--max-packet-bytes N] [--json]

Parses each file safely and checks every field rule of edXML (organ ids, domains, lengths,
dates, required fields, duplicate recipients, status reasons, secrecy marks). Warnings name
deviations that real peers send and lienthong tolerates.

Exit status: 0 when no file has an error, 1 when some file has one, 2 on usage or I/O error.

Options:
  --json      print {"valid", "files": [{"file", "kind", "valid", "errors", "warnings"}]}
${PACKET_LIMIT_HELP}
  -h, --help  this help`,
  async run(argv, io) {
    let json = false;
    try {
      const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, ...PACKET_LIMIT_OPTIONS });
      json = values.json === true;
      if (positionals.length === 0) throw new LtError('USAGE', 'give at least one file to validate');
      const limits = await packetLimits(values['max-packet-bytes']);
      const files: FileReport[] = [];
      for (const file of positionals) {
        const bytes = await readInput(file);
        try {
          const packet = parsePacket(bytes, limits);
          const result = validatePacket(packet);
          files.push({ file, kind: packet.kind, valid: result.valid, errors: result.errors.map(plain), warnings: result.warnings.map(plain) });
        } catch (error) {
          const e = asLtError(error);
          files.push({ file, kind: null, valid: false, errors: [{ code: e.code, path: e.context.path ?? '', message: e.message }], warnings: [] });
        }
      }
      const valid = files.every((f) => f.valid);
      if (json) {
        writeJson(io, { valid, files });
      } else {
        for (const f of files) {
          io.stdout.write(`${f.file}: ${f.valid ? 'valid' : 'INVALID'}${f.kind ? ` ${f.kind} packet` : ''}\n`);
          for (const e of f.errors) io.stdout.write(`  error   ${e.code} ${e.path}: ${e.message}\n`);
          for (const w of f.warnings) io.stdout.write(`  warning ${w.code} ${w.path}: ${w.message}\n`);
          if (f.errors.some((e) => e.code === 'XML_TOO_LARGE')) io.stdout.write(`  ${PACKET_LIMIT_HINT}\n`);
        }
      }
      return valid ? EXIT_OK : EXIT_FAILED;
    } catch (error) {
      const code = reportError(io, 'validate', error);
      return code === EXIT_FAILED ? EXIT_USAGE : code;
    }
  },
};
