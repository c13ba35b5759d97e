import type { RevocationPolicy } from '../../crypto/trust.js';
import { LtError } from '../../errors.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { readInput } from '../../files.js';
import { PACKET_LIMIT_HELP, PACKET_LIMIT_HINT, PACKET_LIMIT_OPTIONS, packetLimits } from '../packet-limit.js';

export const verifyCommand: Command = {
  name: 'verify',
  help: `Usage: lienthong verify IN.xml --trust ROOT.pem [--crl CRL.pem]... [--revocation require|best-effort] [--legacy-sha1] [--max-packet-bytes N] [--json]

Checks the XML signature value, the reference digest (nothing changed), the certificate chain
to the trust anchor(s), that the signer is an end-entity certificate issued for signing,
validity at signing time, revocation, and that the certificate's subject UID equals
From/OrganId. A hostile or malformed file is simply invalid.

Revocation: with --crl, every certificate of the path below the anchor must be found in a
current CRL of its issuer (give the CRL of each CA), else the packet is invalid
(REVOCATION_UNKNOWN, CRL_INVALID); without --crl, revocation is reported "unknown" and not held
against the packet. --revocation chooses either behaviour explicitly.

Exit status: 0 valid, 1 invalid, 2 usage or I/O error.

Options:
  --trust FILE         trusted root CA certificate(s), PEM (repeatable; required)
  --intermediate FILE  extra intermediate CA certificates, PEM (repeatable)
  --crl FILE           certificate revocation list, PEM (repeatable)
  --revocation POLICY  require: refuse when revocation cannot be established; best-effort:
                       report it "unknown" (default: require with --crl, best-effort without)
  --legacy-sha1        also accept rsa-sha1 / sha1 (legacy peers)
  --json               print {"valid", "organId", "signer": {"subject", "notAfter"}, "errors", ...}
${PACKET_LIMIT_HELP}
  -h, --help           this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        trust: { type: 'string', multiple: true },
        intermediate: { type: 'string', multiple: true },
        crl: { type: 'string', multiple: true },
        revocation: { type: 'string' },
        'legacy-sha1': { type: 'boolean' },
        json: { type: 'boolean' },
        ...PACKET_LIMIT_OPTIONS,
      });
      if (positionals.length !== 1) throw new LtError('USAGE', 'give exactly one packet file to verify');
      if (!values.trust?.length) throw new LtError('USAGE', '--trust ROOT.pem is required');
      const revocation = values.revocation;
      // Loaded here, not at start-up: the crypto libraries cost every other verb ~1 s of CPU.
      const { REVOCATION_POLICIES, createTrustStore, readTrustFiles } = await import('../../crypto/trust.js');
      const { verifyPacket } = await import('../../crypto/verify.js');
      if (revocation !== undefined && !REVOCATION_POLICIES.includes(revocation as RevocationPolicy)) {
        throw new LtError('USAGE', `--revocation must be "require" or "best-effort", not "${revocation}"`);
      }
      const limits = await packetLimits(values['max-packet-bytes']);
      const input = await readInput(positionals[0] as string);
      const store = createTrustStore(
        await readTrustFiles({ anchors: values.trust, intermediates: values.intermediate, crls: values.crl, ...(revocation ? { revocation: revocation as RevocationPolicy } : {}) }),
      );
      // Only the report is printed: the file's bytes go once parsed, the attachments are checked, not kept.
      const { report } = await verifyPacket(input, store, { legacySha1: values['legacy-sha1'] === true, limits, attachmentBytes: false, releaseInput: true });
      if (values.json) {
        writeJson(io, report);
      } else if (report.valid) {
        io.stdout.write(`${positionals[0]}: valid, signed by ${report.signer?.subject} for ${report.organId}\n`);
        if (report.checks.revocation === 'unknown') io.stdout.write('  revocation: unknown (not checked against a current CRL of every issuer; --crl to check)\n');
      } else {
        io.stdout.write(`${positionals[0]}: INVALID\n`);
        for (const e of report.errors) io.stdout.write(`  ${e.code}: ${e.message}\n`);
        if (report.errors.some((e) => e.code === 'XML_TOO_LARGE')) io.stdout.write(`  ${PACKET_LIMIT_HINT}\n`);
      }
      return report.valid ? EXIT_OK : EXIT_FAILED;
    } catch (error) {
      const code = reportError(io, 'verify', error);
      return code === EXIT_FAILED ? EXIT_USAGE : code;
    }
  },
};
