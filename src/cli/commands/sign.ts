import { LtError, asLtError } from '../../errors.js';
import { EXIT_OK, parseCommandArgs, reportError, requireOption, type Command } from '../command.js';
import { readInput, writeOutput } from '../../files.js';
import { PACKET_LIMIT_HELP, PACKET_LIMIT_HINT, PACKET_LIMIT_OPTIONS, packetLimits } from '../packet-limit.js';

export const signCommand: Command = {
  name: 'sign',
  help: `Usage: lienthong sign IN.xml --key KEY.pem --cert CERT.pem [--chain CHAIN.pem] [--max-packet-bytes N] -o OUT.xml

Adds an enveloped XML signature to the packet, inside edXMLHeader after TraceHeaderList:
RSA-SHA256 for an RSA certificate, ECDSA-SHA256 for a P-256 one; exclusive c14n; the
certificate (and the chain, without the root) in KeyInfo/X509Data. The certificate's subject
UID must be the packet's From/OrganId for verifiers to accept it.

Options:
  --key FILE      private key, PEM (PKCS#8, PKCS#1 or SEC1; unencrypted)
  --cert FILE     signer certificate, PEM
  --chain FILE    intermediate CA certificates to send along, PEM
  -o, --out FILE  where to write the signed packet (required)
${PACKET_LIMIT_HELP}
  -h, --help      this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        key: { type: 'string' },
        cert: { type: 'string' },
        chain: { type: 'string' },
        out: { type: 'string', short: 'o' },
        ...PACKET_LIMIT_OPTIONS,
      });
      if (positionals.length !== 1) throw new LtError('USAGE', 'give exactly one packet file to sign');
      const keyFile = requireOption(values.key, '--key');
      const certFile = requireOption(values.cert, '--cert');
      const out = requireOption(values.out, '--out');
      const limits = await packetLimits(values['max-packet-bytes']);
      const input = await readInput(positionals[0] as string);
      // Loaded here, not at start-up: the crypto libraries cost every other verb ~1 s of CPU.
      const { loadSigningIdentity } = await import('../../crypto/certificates.js');
      const { signPacketBytes } = await import('../../crypto/sign.js');
      const identity = await loadSigningIdentity(
        (await readInput(keyFile)).toString('utf8'),
        (await readInput(certFile)).toString('utf8'),
        values.chain ? (await readInput(values.chain)).toString('utf8') : undefined,
      );
      // Written as bytes: the signed text, two-byte with one Vietnamese letter, would be flattened and
      // encoded whole. The file's bytes go once parsed: nothing reads them again.
      await writeOutput(out, await signPacketBytes(input, identity, { limits, releaseInput: true }));
      io.stderr.write(`wrote ${out}\n`);
      return EXIT_OK;
    } catch (error) {
      const code = reportError(io, 'sign', error);
      if (asLtError(error).code === 'XML_TOO_LARGE') io.stderr.write(`  ${PACKET_LIMIT_HINT}\n`);
      return code;
    }
  },
};
