import { EXIT_FAILED, EXIT_OK, parseCommandArgs, reportError, requireOption, writeJson, type Command } from '../command.js';
import { LtError } from '../../errors.js';
import { readInput, writeOutput } from '../../files.js';
import { withHubDatabase } from '../open-node.js';

export const auditCommand: Command = {
  name: 'audit',
  help: `Usage:
  lienthong audit verify --config hub.json [--json]
  lienthong audit export --config hub.json --from DATE --to DATE -o FILE
  lienthong audit check FILE --trust ROOT.pem [--intermediate CA.pem]... [--json]

Every packet, status transition and operator action is a row of the hub's audit trail whose
hash covers the row before it. "verify" recomputes the whole chain and names the first row
that was changed, removed or inserted (exit 1). "export" writes the rows of a period (DATE: ISO
date or date-time; --to excluded) as a JSON bundle signed with the hub's certificate; "check"
verifies such a bundle offline: its signature, the hub certificate's chain to ROOT.pem, and
the hash chain of its rows (exit 0 valid, 1 invalid).

Options:
  --config FILE        the hub configuration (verify, export)
  --from, --to DATE    the period to export
  -o, --out FILE       where to write the bundle
  --trust FILE         trusted root certificate (check; repeatable)
  --intermediate FILE  extra CA certificates (check; repeatable)
  --json               machine-readable output
  -h, --help           this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        from: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string', short: 'o' },
        trust: { type: 'string', multiple: true },
        intermediate: { type: 'string', multiple: true },
        json: { type: 'boolean' },
      });
      const [action, file, ...extra] = positionals;
      if (extra.length > 0) throw new LtError('USAGE', `unexpected argument "${extra[0]}"`);
      if (action === 'check') {
        if (!file) throw new LtError('USAGE', 'give the bundle FILE to check');
        if (!values.trust?.length) throw new LtError('USAGE', '--trust ROOT.pem is required');
        const { readTrustFiles } = await import('../../crypto/trust.js');
        const { checkAuditBundle } = await import('../../hub/audit-bundle.js');
        const result = await checkAuditBundle((await readInput(file)).toString('utf8'), await readTrustFiles({ anchors: values.trust, intermediates: values.intermediate }));
        if (values.json) writeJson(io, result);
        else if (result.valid) io.stdout.write(`${file}: valid, ${result.rows} rows of hub ${result.hub} from ${result.period?.from} to ${result.period?.to}, signed by ${result.signer}\n`);
        else {
          io.stdout.write(`${file}: INVALID\n`);
          for (const e of result.errors) io.stdout.write(`  ${e.code}: ${e.message}\n`);
        }
        return result.valid ? EXIT_OK : EXIT_FAILED;
      }
      if (action !== 'verify' && action !== 'export') throw new LtError('USAGE', 'the actions are verify, export and check');
      if (file) throw new LtError('USAGE', `unexpected argument "${file}"`);
      return await withHubDatabase(values.config, io, async (db, config) => {
        if (action === 'verify') {
          const { verifyAuditChain } = await import('../../store/audit.js');
          const check = verifyAuditChain(db);
          if (values.json) writeJson(io, check);
          else if (check.ok) io.stdout.write(`audit trail intact: ${check.rows} rows\n`);
          else io.stdout.write(`audit trail BROKEN at row ${check.brokenAt}: ${check.reason}\n`);
          return check.ok ? EXIT_OK : EXIT_FAILED;
        }
        const date = (value: string | undefined, flag: string): Date => {
          const d = new Date(requireOption(value, flag));
          if (Number.isNaN(d.getTime())) throw new LtError('USAGE', `${flag} must be an ISO date or date-time`);
          return d;
        };
        const { loadIdentityMaterial } = await import('../../config.js');
        const { exportAuditBundle } = await import('../../hub/audit-bundle.js');
        const bundle = exportAuditBundle(db, { from: date(values.from, '--from'), to: date(values.to, '--to') }, config.organId, await loadIdentityMaterial(config.identity));
        const out = requireOption(values.out, '--out');
        await writeOutput(out, `${JSON.stringify(bundle, null, 1)}\n`);
        io.stdout.write(`wrote ${out}: ${bundle.rows.length} audit rows, signed by the hub\n`);
        return EXIT_OK;
      });
    } catch (error) {
      return reportError(io, 'audit', error);
    }
  },
};
