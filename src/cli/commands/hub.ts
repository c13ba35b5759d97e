import { EXIT_OK, parseCommandArgs, reportError, requireOption, writeJson, type Command, type Io } from '../command.js';
import { runUntilSignal } from '../run-until-signal.js';
import { LtError } from '../../errors.js';
import { settlesWithin } from '../../time-limit.js';
import { HUB_CHECK_HELP } from './check.js';
import { BACKUP_HELP, backupVerb } from './backup.js';

export const hubCommand: Command = {
  name: 'hub',
  help: `Usage: lienthong hub --config hub.json
       lienthong hub user add <name> --role operator|viewer --config hub.json [--password-stdin]
       lienthong hub user list --config hub.json
       lienthong hub user password <name> --config hub.json [--password-stdin]
       lienthong hub user remove <name> --config hub.json
       lienthong hub prune --config hub.json [--json]
       lienthong hub link add <name> --config hub.json [--url-host HOST] [--json]
       lienthong hub link remove <name> --config hub.json
       lienthong hub check --config hub.json [--json]   (see lienthong hub check --help)
       lienthong hub backup --config hub.json --to DIR [--json]
       lienthong hub restore --config hub.json --from DIR [--replace] [--json]

Runs the hub until SIGINT or SIGTERM (SIGHUP reads the signing key, certificate and trust
files again without stopping): declares the broker topology, consumes both inbound lanes
(urgent first), verifies every packet (sender, signature, certificate, directory), records it
and routes it to each recipient, bouncing what cannot be delivered with a status signed by the
hub. Logs are JSON lines on stdout. See README "Configuration" for the file and the
environment variables (AMQP_URL, LT_PREFIX, LT_DATA_DIR, LT_MANAGEMENT_URL, ...).

With "dashboard" configured ({host, port, staleAfterMinutes, secureCookies, metricsToken}; env
LT_DASHBOARD_PORT, 0 = any free port, LT_METRICS_TOKEN), the hub also serves the operators' web
dashboard and /metrics in the same process, and logs "dashboard listening on <url>" at start.
"prune" deletes now what the running hub deletes every retention.intervalMinutes: the bytes of
refused packets older than retention.refusedDays and of dead letters older than
retention.deadLetterDays (pending ones are discarded first). Rows, hashes and sizes stay; each
deletion is in the audit trail; bytes another row still references are kept.
"user add" creates a dashboard login: operators may suspend agencies and replay or discard dead
letters, viewers only look. The password is read from standard input with --password-stdin,
otherwise one is generated and shown once. "user password" sets a new password, read from
standard input (or asked for twice, not echoed, on a terminal; never from the command line), and
ends the user's open sessions. "link add" creates the broker user another hub publishes to
this hub as (<prefix>.link.<name>, allowed to write to <prefix>.federation-in only) and prints
its password and the AMQP URL to put in that hub's "federation.links[].amqp.url" (shown once; a
new password each time); this hub's configuration names the same link, with the patterns and
trust anchors of the agencies behind it (README "Federation"). "link remove" deletes that user.
"user remove" deletes a login and ends its sessions; the last
operator cannot be removed. Every change is in the audit trail.
"check" tests every dependency of the hub (broker, TLS, management API, permissions, topology,
capacity, certificate, trust, CRLs, disk, clock) and prints a table of ok / problem / how to
fix (exit 0 when all are ok).

Options:
  --config FILE       the hub configuration (required)
  --role ROLE         operator or viewer (user add)
  --password-stdin    read the password from standard input (user add, user password)
  --json              machine-readable output (prune, link add)
  --url-host HOST     (link add) host name to put in the printed AMQP URL (default: the hub's)
  -h, --help          this help

${BACKUP_HELP}`,
  subcommandHelp: { check: HUB_CHECK_HELP },
  async run(argv, io) {
    if (argv[0] === 'check') return (await import('./check.js')).runCheck('hub', argv.slice(1), io);
    if (argv[0] === 'backup' || argv[0] === 'restore') return backupVerb('hub', argv, io);
    try {
      const { values, positionals } = parseCommandArgs(argv, {
        config: { type: 'string', short: 'c' },
        role: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        json: { type: 'boolean' },
        'url-host': { type: 'string' },
      });
      if (positionals[0] === 'user') return await userCommand(positionals.slice(1), values, io);
      if (positionals[0] === 'prune') return await pruneCommand(positionals.slice(1), values, io);
      if (positionals[0] === 'link') return await linkCommand(positionals.slice(1), values, io);
      if (positionals.length > 0) throw new LtError('USAGE', `unexpected argument "${positionals[0]}"; agencies are managed with "lienthong agency ..."`);
      const { loadHubConfig } = await import('../../hub/config.js');
      const { Hub } = await import('../../hub/hub.js');
      const hub = new Hub(await loadHubConfig(requireOption(values.config, '--config'), io.env));
      const { startHubWithDashboard } = await import('../../dashboard/server.js');
      const dashboard = await startHubWithDashboard(hub);
      const config = hub.config;
      await runUntilSignal(
        io,
        'hub',
        async (deadlineMs) => {
          const deadline = Date.now() + deadlineMs;
          // Open dashboard sessions (keep-alive, a slow page) get a share of the time, not all of it.
          await settlesWithin(dashboard?.close() ?? Promise.resolve(), Math.min(2000, deadlineMs / 4));
          await hub.stop(deadline - Date.now());
        },
        { stopTimeoutSeconds: config.stopTimeoutSeconds, reload: () => hub.reload() },
      );
      return EXIT_OK;
    } catch (error) {
      return reportError(io, 'hub', error);
    }
  },
};

/** `hub link add|remove <name>`: the broker user of a linked hub on this hub's broker. */
async function linkCommand(args: string[], values: { config?: string; json?: boolean; 'url-host'?: string }, io: Io): Promise<number> {
  const [action, name, ...extra] = args;
  if ((action !== 'add' && action !== 'remove') || !name) throw new LtError('USAGE', 'give "link add <name>" or "link remove <name>"');
  if (extra.length > 0) throw new LtError('USAGE', `unexpected argument "${extra[0]}"`);
  const { withHubDatabase } = await import('../open-node.js');
  const { ManagementClient } = await import('../../broker/management.js');
  const { resourceNames } = await import('../../broker/names.js');
  const { withCredentials } = await import('../../broker/connection.js');
  const { amqpUrlsOf } = await import('../../config.js');
  const { quotasOf } = await import('../../hub/config.js');
  const provisioning = await import('../../hub/provisioning.js');
  return withHubDatabase(values.config, io, async (db, config) => {
    const ctx = { db, api: new ManagementClient(config.management), names: resourceNames(config.prefix), actor: `cli:${io.env.USER ?? 'operator'}`, userLimits: quotasOf(config) };
    if (action === 'remove') {
      const { user } = await provisioning.removeLink(ctx, name);
      io.stdout.write(`removed the broker user ${user}: the hub at the other end of link "${name}" can no longer publish here
`);
      return EXIT_OK;
    }
    const { user, password } = await provisioning.addLink(ctx, { name });
    const urls = amqpUrlsOf(config).map((node) => {
      const url = new URL(withCredentials(node, user, password));
      if (values['url-host']) url.hostname = values['url-host'];
      return url.toString();
    });
    const amqpUrl = [...new Set(urls)].join(',');
    if (values.json) writeJson(io, { link: name, brokerUser: user, password, amqpUrl, prefix: config.prefix });
    else {
      io.stdout.write(`link "${name}": broker user ${user}, allowed to publish to ${ctx.names.federationIn} only\n`);
      io.stdout.write(`password:    ${password}\n`);
      io.stdout.write(`AMQP URL:    ${amqpUrl}\n`);
      io.stdout.write(`prefix:      ${config.prefix}\n`);
      io.stdout.write('Shown once: give the URL and prefix to the operator of the other hub, for its link to this one ("federation.links[].amqp").\n');
    }
    return EXIT_OK;
  });
}

async function pruneCommand(args: string[], values: { config?: string; json?: boolean }, io: Io): Promise<number> {
  if (args.length > 0) throw new LtError('USAGE', `unexpected argument "${args[0]}"`);
  const { join } = await import('node:path');
  const { withHubDatabase } = await import('../open-node.js');
  const { retentionOf } = await import('../../hub/config.js');
  const { pruneRetention } = await import('../../hub/retention.js');
  const { BlobStore } = await import('../../store/blobs.js');
  const { resourceNames } = await import('../../broker/names.js');
  const { silentLogger } = await import('../../log.js');
  return withHubDatabase(values.config, io, async (db, config) => {
    const retention = retentionOf(config);
    const result = await pruneRetention(
      { db, blobs: new BlobStore(join(config.dataDir, 'blobs'), db), names: resourceNames(config.prefix), log: silentLogger() },
      retention,
      new Date(),
      `cli:${io.env.USER ?? 'operator'}`,
    );
    if (values.json) writeJson(io, { retention, ...result });
    else {
      io.stdout.write(
        `released ${result.packets} refused packet(s) older than ${retention.refusedDays} days and ${result.deadLetters} dead letter(s) older than ${retention.deadLetterDays} days` +
          `${result.discarded ? ` (${result.discarded} pending discarded)` : ''}; deleted ${result.blobsDeleted} blob(s), ${result.bytesDeleted} bytes\n`,
      );
    }
    return EXIT_OK;
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** One line typed on the terminal without echo (raw mode); Ctrl-C or Ctrl-D gives up. */
async function askHidden(io: Io, prompt: string): Promise<string> {
  const stdin = process.stdin;
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer): void => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n') return finish(() => resolve(typed));
          if (char === '\u0003' || char === '\u0004') return finish(() => reject(new LtError('USAGE', 'no password entered; nothing changed')));
          typed = char === '\u007f' || char === '\b' ? typed.slice(0, -1) : typed + char;
        }
      };
      const finish = (done: () => void): void => {
        stdin.off('data', onData);
        done();
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    io.stderr.write('\n');
  }
}

/** A password from standard input, or asked for twice on a terminal; never from argv. */
async function readPassword(io: Io, fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) return readStdin();
  const first = await askHidden(io, 'New password: ');
  const again = await askHidden(io, 'Once more: ');
  if (first !== again) throw new LtError('USAGE', 'the two passwords differ; nothing changed');
  return first;
}

async function userCommand(args: string[], values: { config?: string; role?: string; 'password-stdin'?: boolean }, io: Io): Promise<number> {
  const [action, name, ...extra] = args;
  if (extra.length > 0) throw new LtError('USAGE', `unexpected argument "${extra[0]}"; a password is never given on the command line`);
  const { loadHubConfig, hubDatabasePath } = await import('../../hub/config.js');
  const { openDatabase } = await import('../../store/db.js');
  const { HUB_MIGRATIONS } = await import('../../store/migrations/hub.js');
  const users = await import('../../hub/users.js');
  const config = await loadHubConfig(requireOption(values.config, '--config'), io.env);
  const actor = `cli:${io.env.USER ?? 'operator'}`;
  // Asked before the database is opened: a person typing holds no lock on it.
  const password = action === 'password' && name ? await readPassword(io, values['password-stdin'] === true) : undefined;
  const db = openDatabase(hubDatabasePath(config), HUB_MIGRATIONS);
  try {
    if (action === 'list') {
      for (const u of users.listUsers(db)) io.stdout.write(`${u.name.padEnd(24)} ${u.role.padEnd(9)} since ${u.createdAt}${u.disabled ? ' (disabled)' : ''}\n`);
      return EXIT_OK;
    }
    if ((action === 'remove' || action === 'password') && !name) throw new LtError('USAGE', `lienthong hub user ${action} <name> --config hub.json`);
    if (action === 'remove' && name) {
      const { sessionsEnded } = users.removeUser(db, name, actor);
      io.stdout.write(`user ${name} removed${sessionsEnded ? `; ${sessionsEnded} open session(s) ended` : ''}\n`);
      return EXIT_OK;
    }
    if (action === 'password' && name && password !== undefined) {
      const { sessionsEnded } = users.setPassword(db, name, password, actor);
      io.stdout.write(`password of ${name} changed${sessionsEnded ? `; ${sessionsEnded} open session(s) ended` : ''}\n`);
      return EXIT_OK;
    }
    if (action !== 'add' || !name) throw new LtError('USAGE', 'the user actions are add, list, password and remove: lienthong hub user add <name> --role operator|viewer --config hub.json');
    const role = requireOption(values.role, '--role');
    if (role !== 'operator' && role !== 'viewer') throw new LtError('USAGE', '--role is operator or viewer');
    const generated = !values['password-stdin'];
    const initial = generated ? (await import('../../ids.js')).newSecret() : await readStdin();
    users.addUser(db, { name, role, password: initial }, actor);
    io.stdout.write(`user ${name} (${role}) created\n`);
    if (generated) io.stdout.write(`password: ${initial}\n(shown once)\n`);
    return EXIT_OK;
  } finally {
    db.close();
  }
}
