import { join, relative, resolve } from 'node:path';
import { LtError } from '../../errors.js';
import { EXIT_OK, parseCommandArgs, reportError, type Command } from '../command.js';

/** Same as DEFAULT_DEV_PKI_DIR; repeated so the help needs no import of the crypto stack. */
const DEFAULT_OUT = 'certs-dev';

export const certsCommand: Command = {
  name: 'certs',
  help: `Usage: lienthong certs init [--out DIR] [--organs FILE] [--force]

Creates a development PKI standing in for the government CA: a root CA, an issuing CA, a hub
certificate, one certificate per agency (subject UID=<organ id>, O and CN=<name>, C=VN), a revoked
agency certificate listed in the issuing CA's CRL and an expired one. Keys are RSA 2048 unless an
organ asks for "keyType": "ec" (ECDSA P-256). All files are PEM, usable by openssl and xmlsec1;
organs.json lists what was made and README.md the layout.

THESE KEYS ARE FOR DEVELOPMENT AND TESTS ONLY. NEVER USE THEM IN PRODUCTION.

Without --organs the agencies of Cà Mau province (level-1 code H12) are used. The organs file is
JSON: {"hub": {"organId", "name"}, "agencies": [{"organId", "name", "keyType"?}], "revoked": {...},
"expired": {...}}; every key is optional, and an organs.json written by this command is accepted.

Options:
  -o, --out DIR   where to write the set (default ${DEFAULT_OUT}); must be empty or absent
  --organs FILE   the agencies to make certificates for
  --force         write into a non-empty DIR, replacing the files of a previous set
  -h, --help      this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        out: { type: 'string', short: 'o' },
        organs: { type: 'string' },
        force: { type: 'boolean' },
      });
      if (positionals[0] !== 'init' || positionals.length !== 1) {
        throw new LtError('USAGE', 'the only subcommand is "init": lienthong certs init [--out DIR] [--organs FILE] [--force]');
      }
      const out = values.out ?? DEFAULT_OUT;
      // Loaded here, not at the top, so other verbs do not pay for loading the X.509 stack.
      const { createDevPki, devOrgans } = await import('../../crypto/dev-pki.js');
      const manifest = await createDevPki({ out, organsFile: values.organs, force: values.force ?? false, cwd: io.cwd });
      // Paths are shown under --out as the user spelled it, not as the manifest's absolute paths.
      const dir = resolve(io.cwd, out);
      const shown = (file: string) => join(out, relative(dir, resolve(dir, file)));
      const rows: [string, string, string][] = [
        ['root CA', '-', shown(manifest.root.cert)],
        ['issuing CA', '-', shown(manifest.issuing.cert)],
        ...devOrgans(manifest).map((o): [string, string, string] => [o.role, o.organId, shown(o.cert)]),
      ];
      for (const [role, organId, file] of rows) io.stdout.write(`${role.padEnd(10)}  ${organId.padEnd(13)}  ${file}\n`);
      io.stdout.write(`CRLs ${shown('issuing-ca.crl.pem')} (1 revoked) and ${shown('root-ca.crl.pem')}; list in ${shown('organs.json')}\n`);
      io.stdout.write('REMINDER: these are development/test keys and certificates - NEVER use them in production.\n');
      return EXIT_OK;
    } catch (error) {
      return reportError(io, 'certs', error);
    }
  },
};

