import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { LtError } from '../../errors.js';

const USAGE = 'lienthong apikey new <client-name> [--json]';

export const apikeyCommand: Command = {
  name: 'apikey',
  summary: "Create an API key for a client system of an edge's REST API",
  help: `Usage: ${USAGE}

Generates a random API key (256 bits) for one client system (the agency's document management
software, a portal, ...) and prints it ONCE, with the entry to add to the edge configuration's
"api.keys": {"name": "<client-name>", "sha256": "<hash>"}. The edge keeps only the hash; the
client sends the key in the X-API-Key header (or Authorization: Bearer <key>), and the outbox
records the client's name with every document it submits. Restart the edge to load new keys;
remove the entry to revoke a key.

Options:
  --json       print {"name", "key", "sha256", "entry"}
  -h, --help   this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
      const [action, name, ...extra] = positionals;
      if (action !== 'new') throw new LtError('USAGE', action ? `unknown action "${action}": ${USAGE}` : `give an action: ${USAGE}`);
      if (extra.length > 0) throw new LtError('USAGE', `unexpected argument "${extra[0]}"`);
      const client = name?.trim();
      if (!client) throw new LtError('USAGE', `give the client system's name: ${USAGE}`);
      // eslint-disable-next-line no-control-regex
      if (client.length > 100 || /[\u0000-\u001f\u007f]/.test(client)) throw new LtError('USAGE', 'the client name must be at most 100 printable characters');
      const { newApiKey } = await import('../../adapters/rest/auth.js');
      const { key, entry } = newApiKey(client);
      if (values.json) {
        writeJson(io, { name: entry.name, key, sha256: entry.sha256, entry });
      } else {
        io.stdout.write(
          `API key for "${entry.name}" (shown only now; give it to the client system, the edge keeps only its hash):\n\n` +
            `  ${key}\n\n` +
            'Add to "api.keys" in edge.json, then restart the edge:\n\n' +
            `  ${JSON.stringify(entry)}\n`,
        );
      }
      return EXIT_OK;
    } catch (error) {
      return reportError(io, 'apikey', error);
    }
  },
};
