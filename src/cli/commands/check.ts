/** `lienthong edge check` and `lienthong hub check`: every dependency as a row, ok / problem / how to fix. */
import { EXIT_USAGE, parseCommandArgs, reportError, requireOption, writeJson, type Io } from '../command.js';
import { LtError } from '../../errors.js';
import { DEFAULT_MIN_FREE_MB } from '../../check/disk.js';
import { DEFAULT_MAX_SKEW_SECONDS } from '../../check/clock.js';
import { checkExitCode, problem, renderCheckTable, type CheckRow } from '../../check/rows.js';

export const EDGE_CHECK_HELP = `Usage: lienthong edge check --config edge.json [--json] [--management-url URL]
                          [--min-free-mb N] [--max-skew-seconds N]

Checks everything an edge depends on, each on its own row (ok, problem with how to fix it, or
skipped with why): its broker user is its agency's; the broker transport (TLS); the login and
vhost; the submit exchange, and that the user may publish to it; both of the agency's queues,
and that the user may read them; clamd answers PING (when "clamd" is configured); the signing
key belongs to the certificate; the certificate is the organ id's, valid, chains to a trust
anchor and is not revoked; each CRL is fresh; the data directory is writable with free space;
the clock agrees with the broker's (asked through its management API's HTTP Date). It
publishes nothing the hub would see and consumes nothing. Run it before the first document.

Exit status: 0 when every row is ok or skipped, 1 when any is a problem, 2 on a usage error.

Options:
  --config FILE           the edge configuration (required)
  --json                  the rows as JSON ({ok, rows: [{name, status, detail, fix}]})
  --management-url URL    the broker's management API, asked only for its time (default:
                          http://<AMQP host>:15672, https://...:15671 with amqps)
  --min-free-mb N         free space the data directory needs, MiB (default ${DEFAULT_MIN_FREE_MB})
  --max-skew-seconds N    largest clock difference with the broker accepted (default ${DEFAULT_MAX_SKEW_SECONDS})
  -h, --help              this help`;

export const HUB_CHECK_HELP = `Usage: lienthong hub check --config hub.json [--json] [--min-free-mb N] [--max-skew-seconds N]

Checks everything the hub depends on, each on its own row (ok, problem with how to fix it, or
skipped with why): the broker transport (TLS); the login of its AMQP user; its exchanges and
queues (skipped while none exists: the hub declares them at its first start); the management
API and that its user is an administrator (agency add needs it); the AMQP user's permissions
on the prefix; the broker's alarms and file descriptors; the signing key, certificate, trust
anchors and CRLs; the data directory; the clock against the broker's.

Exit status: 0 when every row is ok or skipped, 1 when any is a problem, 2 on a usage error.

Options:
  --config FILE           the hub configuration (required)
  --json                  the rows as JSON ({ok, rows: [{name, status, detail, fix}]})
  --min-free-mb N         free space the data directory needs, MiB (default ${DEFAULT_MIN_FREE_MB})
  --max-skew-seconds N    largest clock difference with the broker accepted (default ${DEFAULT_MAX_SKEW_SECONDS})
  -h, --help              this help`;

function positive(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new LtError('USAGE', `${flag} must be a non-negative number, not "${value}"`);
  return n;
}

export async function runCheck(node: 'edge' | 'hub', argv: string[], io: Io): Promise<number> {
  const verb = `${node} check`;
  try {
    const { values, positionals } = parseCommandArgs(argv, {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      'min-free-mb': { type: 'string' },
      'max-skew-seconds': { type: 'string' },
      ...(node === 'edge' ? { 'management-url': { type: 'string' as const } } : {}),
    });
    if (values.help) {
      io.stdout.write(`${node === 'edge' ? EDGE_CHECK_HELP : HUB_CHECK_HELP}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new LtError('USAGE', `unexpected argument "${positionals[0]}"`);
    const path = requireOption(values.config, '--config');
    const common = {
      minFreeMb: positive(values['min-free-mb'], '--min-free-mb', DEFAULT_MIN_FREE_MB),
      maxSkewSeconds: positive(values['max-skew-seconds'], '--max-skew-seconds', DEFAULT_MAX_SKEW_SECONDS),
    };
    let rows: CheckRow[];
    if (node === 'edge') {
      const managementUrl = (values as { 'management-url'?: string })['management-url'];
      const config = await loadOrRow(async () => (await import('../../edge/config.js')).loadEdgeConfig(path, io.env), path);
      rows = 'row' in config ? [config.row] : await (await import('../../check/edge.js')).edgeChecks(config.value, { ...common, ...(managementUrl ? { managementUrl } : {}) });
    } else {
      const config = await loadOrRow(async () => (await import('../../hub/config.js')).loadHubConfig(path, io.env), path);
      rows = 'row' in config ? [config.row] : await (await import('../../check/hub.js')).hubChecks(config.value, common);
    }
    const code = checkExitCode(rows);
    if (values.json) writeJson(io, { ok: code === 0, rows });
    else io.stdout.write(renderCheckTable(rows));
    return code;
  } catch (error) {
    const code = reportError(io, verb, error);
    return code === 0 ? EXIT_USAGE : code;
  }
}

/** A configuration that cannot be read is the first problem found, not a crash. */
async function loadOrRow<T>(load: () => Promise<T>, path: string): Promise<{ value: T } | { row: CheckRow }> {
  try {
    return { value: await load() };
  } catch (error) {
    const e = error as LtError;
    if (e.code === 'USAGE') throw error;
    const where = e.context?.path && e.context.path !== path ? ` ("${e.context.path}")` : '';
    return { row: problem('configuration', `${e.message}${e.code ? ` (${e.code})` : ''}`, `correct ${path}${where}; every setting is described in README "Configuration"`) };
  }
}
