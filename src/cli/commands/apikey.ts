import { EXIT_OK, parseCommandArgs, reportError, writeJson, type Command } from '../command.js';
import { LtError } from '../../errors.js';

const USAGE = 'lienthong apikey new <client-name> [--json] | lienthong apikey new --sdk <systemId> [--json]';

export const apikeyCommand: Command = {
  name: 'apikey',
  help: `Usage: ${USAGE}

Generates a random API key (256 bits) for one client system (the agency's document management
software, a portal, ...) and prints it ONCE, with the entry to add to the edge configuration's
"api.keys": {"name": "<client-name>", "sha256": "<hash>"}. The edge keeps only the hash; the
client sends the key in the X-API-Key header (or Authorization: Bearer <key>), and the outbox
records the client's name with every document it submits. Restart the edge to load new keys;
remove the entry to revoke a key.

With --sdk <systemId>: credentials for a program written for the national exchange SDK, which
talks to the edge's SDK door (<API base URL>/sdk): a random secret, printed ONCE with the entry
for "api.sdkClients": {"systemId": "<systemId>", "secret": "<secret>"}. The SDK signs every
request with an HMAC keyed by the secret itself, so the edge must keep the secret (not a hash):
put it in a file only the edge's user can read and write {"systemId", "secretFile"} instead.
Give the program the endpoint, the systemid and the secret; restart the edge to load it.

Options:
  --sdk ID     SDK credentials for system ID instead of an API key
  --json       print {"name", "key", "sha256", "entry"} (with --sdk: {"systemId", "secret", "entry"})
  -h, --help   this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, sdk: { type: 'string' } });
      const [action, name, ...extra] = positionals;
      if (action !== 'new') throw new LtError('USAGE', action ? `unknown action "${action}": ${USAGE}` : `give an action: ${USAGE}`);
      if (extra.length > 0) throw new LtError('USAGE', `unexpected argument "${extra[0]}"`);
      if (values.sdk !== undefined) {
        if (name !== undefined) throw new LtError('USAGE', `give either a client name or --sdk <systemId>, not both: ${USAGE}`);
        const { newSdkClient } = await import('../../adapters/sdk/credentials.js');
        const entry = newSdkClient(values.sdk.trim());
        if (values.json) {
          writeJson(io, { systemId: entry.systemId, secret: entry.secret, entry });
        } else {
          io.stdout.write(
            `SDK credentials for system "${entry.systemId}" (the secret is shown only now):\n\n` +
              `  systemid  ${entry.systemId}\n  secret    ${entry.secret}\n\n` +
              'Add to "api.sdkClients" in edge.json, then restart the edge:\n\n' +
              `  ${JSON.stringify(entry)}\n\n` +
              `or keep the secret in a file only the edge can read: {"systemId": ${JSON.stringify(entry.systemId)}, "secretFile": "<file>"}.\n` +
              "In the program's SDK configuration: endpoint <the edge API's base URL>/sdk, this systemid and secret.\n",
          );
        }
        return EXIT_OK;
      }
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
