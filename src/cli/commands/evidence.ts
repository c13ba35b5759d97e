import { EXIT_FAILED, EXIT_OK, parseCommandArgs, reportError, requireOption, writeJson, type Command } from '../command.js';
import { LtError } from '../../errors.js';
import { readInput, writeOutput } from '../../files.js';
import { withHubDatabase, withOpenEdge } from '../open-node.js';
import { PACKET_LIMIT_HELP, PACKET_LIMIT_HINT, PACKET_LIMIT_OPTIONS, packetLimits } from '../packet-limit.js';

export const evidenceCommand: Command = {
  name: 'evidence',
  help: `Usage:
  lienthong evidence DOCUMENT-ID --config edge.json -o FILE.zip
  lienthong evidence DOCUMENT-ID --hub --config hub.json -o FILE.zip
  lienthong evidence verify FILE.zip --trust ROOT.pem [--intermediate CA.pem]... [--crl CRL.pem]... [--max-packet-bytes N] [--json]

The evidence file holds what this edge (or, with --hub, the hub) keeps about one document: the
original signed packet and every status packet about it, byte for byte as signed, the
verification report made when each arrived, the timeline, and from the hub its audit rows. Its
manifest is signed with the node's certificate. "verify" checks it with nothing but the file and
the trusted roots: the manifest's signature, every file's hash, every packet's XML signature,
the audit rows, and prints the document's life step by step. Every packet inside can also be
checked on its own with xmlsec1 (see README.txt inside the file).

Options:
  --config FILE        the edge (or, with --hub, the hub) configuration
  --hub                read the hub's records
  -o, --out FILE       where to write the zip
  --trust FILE         trusted root certificate (verify; repeatable)
  --intermediate FILE  extra CA certificates (verify; repeatable)
  --crl FILE           certificate revocation lists (verify; repeatable)
  --json               machine-readable output (verify)
${PACKET_LIMIT_HELP}
  -h, --help           this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        hub: { type: 'boolean' },
        out: { type: 'string', short: 'o' },
        trust: { type: 'string', multiple: true },
        intermediate: { type: 'string', multiple: true },
        crl: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        ...PACKET_LIMIT_OPTIONS,
      });
      const [first, second, ...extra] = positionals;
      if (extra.length > 0) throw new LtError('USAGE', `unexpected argument "${extra[0]}"`);
      if (!first) throw new LtError('USAGE', 'give a DocumentId, or "verify FILE.zip"');
      if (first === 'verify' && second !== undefined) {
        if (!values.trust?.length) throw new LtError('USAGE', '--trust ROOT.pem is required');
        const { readTrustFiles } = await import('../../crypto/trust.js');
        const { checkEvidence } = await import('../../evidence/bundle.js');
        const limits = await packetLimits(values['max-packet-bytes']);
        const result = await checkEvidence(await readInput(second), await readTrustFiles({ anchors: values.trust, intermediates: values.intermediate, crls: values.crl }), new Date(), limits);
        if (values.json) writeJson(io, result);
        else {
          io.stdout.write(`${second}: ${result.valid ? 'VALID' : 'INVALID'} evidence of ${result.documentId ?? '(unknown document)'} from ${result.node?.kind ?? '?'} ${result.node?.organId ?? '?'}, signed by ${result.signer ?? '(nobody)'}\n`);
          for (const p of result.packets) io.stdout.write(`  ${p.valid ? 'ok     ' : p.role === 'refused' ? 'refused' : 'INVALID'} ${p.file}${p.errors[0] ? `  (${p.errors[0].code}: ${p.errors[0].message})` : ''}\n`);
          if (result.audit) io.stdout.write(`  audit: ${result.audit.rows} rows, ${result.audit.intact ? 'intact' : 'BROKEN'}\n`);
          io.stdout.write('steps:\n');
          for (const s of result.steps) io.stdout.write(`  ${s.at}  ${s.says}\n`);
          for (const e of result.errors) io.stdout.write(`error ${e.code}: ${e.message}\n`);
          const tooLarge = [...result.errors, ...result.packets.flatMap((p) => p.errors)].some((e) => e.code === 'XML_TOO_LARGE' || e.code === 'ZIP_UNSAFE');
          if (tooLarge) io.stdout.write(`  ${PACKET_LIMIT_HINT}\n`);
        }
        return result.valid ? EXIT_OK : EXIT_FAILED;
      }
      if (second !== undefined) throw new LtError('USAGE', `unexpected argument "${second}"`);
      const documentId = first;
      const out = requireOption(values.out, '--out');
      const zip = values.hub
        ? await withHubDatabase(values.config, io, async (db, config) => {
            const { join } = await import('node:path');
            const { BlobStore } = await import('../../store/blobs.js');
            const { loadIdentityMaterial } = await import('../../config.js');
            const { collectHubEvidence } = await import('../../hub/evidence.js');
            const { buildEvidence } = await import('../../evidence/bundle.js');
            const input = await collectHubEvidence({ db, blobs: new BlobStore(join(config.dataDir, 'blobs'), db), hubOrganId: config.organId }, documentId);
            return buildEvidence(input, await loadIdentityMaterial(config.identity), new Date());
          })
        : await withOpenEdge(values.config, io, (edge) => edge.evidence(documentId));
      await writeOutput(out, zip);
      io.stdout.write(`wrote ${out}: evidence of ${documentId} (${zip.length} bytes)\n`);
      return EXIT_OK;
    } catch (error) {
      return reportError(io, 'evidence', error);
    }
  },
};
