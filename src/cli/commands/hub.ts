import { EXIT_OK, parseCommandArgs, reportError, requireOption, type Command } from '../command.js';
import { runUntilSignal } from '../run-until-signal.js';
import { LtError } from '../../errors.js';

export const hubCommand: Command = {
  name: 'hub',
  summary: 'Run the provincial hub (routing, tracking, bounces)',
  help: `Usage: lienthong hub --config hub.json

Runs the hub until SIGINT or SIGTERM: declares the broker topology, consumes both inbound lanes
(urgent first), verifies every packet (sender, signature, certificate, directory), records it
and routes it to each recipient, bouncing what cannot be delivered with a status signed by the
hub. Logs are JSON lines on stdout. See README "Configuration" for the file and the
environment variables (AMQP_URL, LT_PREFIX, LT_DATA_DIR, LT_MANAGEMENT_URL, ...).

Options:
  --config FILE  the hub configuration (required)
  -h, --help     this help`,
  async run(argv, io) {
    try {
      const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string', short: 'c' } });
      if (positionals.length > 0) throw new LtError('USAGE', `unexpected argument "${positionals[0]}"; agency and user management are "lienthong agency ..."`);
      const { loadHubConfig } = await import('../../hub/config.js');
      const { Hub } = await import('../../hub/hub.js');
      const hub = new Hub(await loadHubConfig(requireOption(values.config, '--config'), io.env));
      await hub.start();
      await runUntilSignal(io, 'hub', () => hub.stop());
      return EXIT_OK;
    } catch (error) {
      return reportError(io, 'hub', error);
    }
  },
};
