import { EXIT_OK, parseCommandArgs, reportError, requireOption, type Command } from '../command.js';
import { runUntilSignal } from '../run-until-signal.js';
import { LtError } from '../../errors.js';
import { settlesWithin } from '../../time-limit.js';
import { EDGE_CHECK_HELP } from './check.js';
import { EDGE_INIT_HELP } from './init.js';
import { BACKUP_HELP, backupVerb } from './backup.js';

export const edgeCommand: Command = {
  name: 'edge',
  help: `Usage: lienthong edge --config edge.json
       lienthong edge init [--out edge.json] [--organ-id ID] ...   (see lienthong edge init --help)
       lienthong edge check --config edge.json [--json]             (see lienthong edge check --help)
       lienthong edge backup --config edge.json --to DIR [--json]
       lienthong edge restore --config edge.json --from DIR [--replace] [--json]

Runs the edge node of one agency until SIGINT or SIGTERM (SIGHUP reads the signing key,
certificate, trust files and API keys again without stopping): relays the outbox to the hub with
publisher confirms, consumes the agency's urgent and normal lanes (urgent first), verifies and
stores incoming documents and answers them with status 01 (or 02 with the reason), tracks the
status of every document sent, and serves the REST API when "api" is configured: on
api.host:api.port (env LT_API_PORT), OpenAPI at /docs, clients authenticated by the keys of
api.keys (made with "lienthong apikey new <client>"). Logs are JSON lines on stdout. See README
"Configuration".

It starts only as its agency's own broker user: AMQP_URL (or "amqpUrl") must be the URL
"lienthong agency add <organId>" printed (BROKER_USER_MISMATCH otherwise), and only once per
agency: a second edge on the same data directory, or on the agency's queues from anywhere, is
refused (EDGE_ALREADY_RUNNING). Started through npm (npx), whose shell does not pass signals
on, it also stops when npm is gone; run "node bin/lienthong.js edge" under a supervisor in
production.

"init" writes a commented edge configuration from a few answers; "check" tests every
dependency (broker, TLS, permissions, queues, certificate, trust, CRLs, disk, clock, clamd) and
prints a table of ok / problem / how to fix (exit 0 when all are ok).

Options:
  --config FILE  the edge configuration (required)
  -h, --help     this help

${BACKUP_HELP}`,
  subcommandHelp: { init: EDGE_INIT_HELP, check: EDGE_CHECK_HELP },
  async run(argv, io) {
    if (argv[0] === 'init') return (await import('./init.js')).runEdgeInit(argv.slice(1), io);
    if (argv[0] === 'check') return (await import('./check.js')).runCheck('edge', argv.slice(1), io);
    if (argv[0] === 'backup' || argv[0] === 'restore') return backupVerb('edge', argv, io);
    try {
      const { values, positionals } = parseCommandArgs(argv, { config: { type: 'string', short: 'c' } });
      if (positionals.length > 0) throw new LtError('USAGE', `unexpected argument "${positionals[0]}"`);
      const { loadEdgeConfig } = await import('../../edge/config.js');
      const { Edge } = await import('../../edge/edge.js');
      const { EDGE_ADAPTERS } = await import('../../adapters/edge-adapters.js');
      const configPath = requireOption(values.config, '--config');
      const config = await loadEdgeConfig(configPath, io.env);
      const edge = new Edge(config, { adapters: EDGE_ADAPTERS });
      // Built before the edge starts, so that a bad "api" section stops it before it connects.
      const keys = config.api ? new (await import('../../adapters/rest/auth.js')).ApiKeyring(config.api.keys) : undefined;
      const api =
        config.api && keys
          ? (await import('../../adapters/rest/server.js')).createEdgeApi(edge, config.api, { keys, ...(config.api.rateLimit !== undefined ? { rateLimit: config.api.rateLimit } : {}) })
          : undefined;
      // SIGHUP: the identity and trust files, and the API keys of edge.json (a key added or revoked).
      const reloadKeys = async (ring: NonNullable<typeof keys>): Promise<void> => {
        try {
          ring.replace((await loadEdgeConfig(configPath, io.env)).api?.keys ?? []);
          edge.log.info({ clients: ring.clients }, 'reload: API keys read again from the configuration');
        } catch (error) {
          edge.log.error({ code: (error as { code?: string }).code, err: (error as Error).message }, 'reload: the API keys of the configuration were refused, the ones in force stay');
        }
      };
      const reload = async (): Promise<void> => {
        try {
          await edge.reload();
        } finally {
          if (keys) await reloadKeys(keys);
        }
      };
      await edge.start();
      try {
        if (api && config.api) {
          const address = await api.listen({ host: config.api.host, port: config.api.port });
          edge.log.info({ address, docs: `${address}/docs`, clients: config.api.keys.map((k) => k.name) }, `REST API listening on ${address}`);
        }
      } catch (error) {
        await edge.stop();
        throw error;
      }
      const code = await runUntilSignal(
        io,
        'edge',
        async (deadlineMs) => {
          const deadline = Date.now() + deadlineMs;
          try {
            // A request still waiting (for recipients' answers, say) gets a share of the time, not all of it.
            await settlesWithin(api?.close() ?? Promise.resolve(), Math.min(2000, deadlineMs / 4));
          } finally {
            await edge.stop(deadline - Date.now());
          }
        },
        { stopTimeoutSeconds: config.stopTimeoutSeconds, failed: edge.failed, reload },
      );
      if (code !== EXIT_OK) {
        const error = await edge.failed;
        return reportError(io, 'edge', error);
      }
      return EXIT_OK;
    } catch (error) {
      return reportError(io, 'edge', error);
    }
  },
};
